/**
 * Bounds on accept work in flight (beyond Magento), answered 503 with `Retry-After` at once when
 * over, instead of every request slowing down until the process runs out of memory:
 *
 * - bytes: the request bodies being read or processed hold at most `maxBytes` together. The first
 *   `freeBytesPerRequest` of each body are not counted (small requests are bounded by the slots
 *   below and the request timeout), so big bodies never crowd out small ones. A declared
 *   Content-Length is reserved up front: an oversized client is refused before it sends anything.
 * - slots: at most `maxConcurrent` requests are processed (decoded, validated, committed) at
 *   once. Reading a body takes no slot: a slow client holds bytes, never a slot.
 *
 * - streams: at most `maxStreams` server-sent event streams are open at once. Each polls the
 *   database twice a second for up to 300 s, so unbounded streams would take the pool from the
 *   accepts; they get their own count rather than accept slots, which they would hold for minutes.
 *
 * A body is decoded into a PHP value model several times its size, so bytes held are the figure
 * memory follows.
 */
import { E, WebapiError } from '../errors/catalogue.ts';

export interface AdmissionLimits {
  maxConcurrent: number;
  maxBytes: number;
  /** Seconds a refused client is told to wait (`Retry-After`). */
  retryAfterSeconds: number;
  /** Bytes of each body not counted against `maxBytes` (default 64 KiB). */
  freeBytesPerRequest?: number;
  /** Event streams open at once (default: unbounded). */
  maxStreams?: number;
}

export class BusyError extends WebapiError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(E.SERVER_BUSY, { retryAfter: retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface Ticket {
  /** Counts `n` more body bytes held; throws BusyError (and holds nothing more) when over. */
  reserve(n: number): void;
  release(): void;
}

export class Admission {
  readonly limits: AdmissionLimits;
  #active = 0;
  #bytes = 0;
  #streams = 0;

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
  }

  /** Requests being processed. */
  get active(): number {
    return this.#active;
  }

  /** Body bytes counted against `maxBytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A byte account for one request's body; release it when the request is answered. */
  reading(): Ticket {
    const free = this.limits.freeBytesPerRequest ?? 64 * 1024;
    let seen = 0;
    let held = 0;
    let released = false;
    return {
      reserve: (n) => {
        if (released) return;
        const counted = Math.max(0, seen + n - free) - Math.max(0, seen - free);
        if (counted > 0 && this.#bytes + counted > this.limits.maxBytes) {
          throw new BusyError(this.limits.retryAfterSeconds);
        }
        seen += n;
        held += counted;
        this.#bytes += counted;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#bytes -= held;
      },
    };
  }

  /** Event streams open. */
  get streams(): number {
    return this.#streams;
  }

  /** A processing slot, or BusyError when every slot is taken; returns its release function. */
  enter(): () => void {
    if (this.#active >= this.limits.maxConcurrent) throw new BusyError(this.limits.retryAfterSeconds);
    this.#active++;
    return once(() => this.#active--);
  }

  /** A place for one event stream, or BusyError when `maxStreams` are open; returns its release. */
  openStream(): () => void {
    if (this.#streams >= (this.limits.maxStreams ?? Infinity)) throw new BusyError(this.limits.retryAfterSeconds);
    this.#streams++;
    return once(() => this.#streams--);
  }
}

function once(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}
