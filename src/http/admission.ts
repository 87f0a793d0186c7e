/**
 * Bounds on accept work in flight (beyond Magento): at most `maxConcurrent` accept requests at once
 * (from the first body byte to the answer) and at most `maxBytes` of their bodies held in memory
 * together. Over either bound the request is answered 503 with `Retry-After` at once, instead of
 * every request slowing down until the process runs out of memory. A 20 MiB body is decoded into a
 * PHP value model several times its size, so bytes held are the figure memory follows.
 */
import { E, WebapiError } from '../errors/catalogue.ts';

export interface AdmissionLimits {
  maxConcurrent: number;
  maxBytes: number;
  /** Seconds a refused client is told to wait (`Retry-After`). */
  retryAfterSeconds: number;
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

  constructor(limits: AdmissionLimits) {
    this.limits = limits;
  }

  get active(): number {
    return this.#active;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** A slot for one request, or BusyError when every slot is taken. */
  enter(): Ticket {
    if (this.#active >= this.limits.maxConcurrent) throw new BusyError(this.limits.retryAfterSeconds);
    this.#active++;
    let held = 0;
    let released = false;
    return {
      reserve: (n) => {
        if (released) return;
        if (this.#bytes + n > this.limits.maxBytes) throw new BusyError(this.limits.retryAfterSeconds);
        this.#bytes += n;
        held += n;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#bytes -= held;
        this.#active--;
      },
    };
  }
}
