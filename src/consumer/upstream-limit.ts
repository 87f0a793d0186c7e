/**
 * Politeness towards one upstream, shared by every batch of a consumer process: at most
 * `maxInFlight` calls at once, at most `maxPerSecond` calls started in any second, and none while
 * the upstream asked to be left alone (`Retry-After`). Callers queue in arrival order.
 *
 * A wait for the upstream's own back-off is only worth it while it is short: a handler waiting out
 * a long `Retry-After` holds its operation's claim and its batch for nothing, so beyond
 * `maxBackOffWaitMs` the call is refused at once ({@link UpstreamBackedOff}) and the operation is
 * retried after the back-off instead.
 */

export interface UpstreamLimits {
  /** Calls in flight at once. */
  maxInFlight: number;
  /** Calls started in any 1-second window; null: no such cap. */
  maxPerSecond: number | null;
  /** Longest a call waits for a back-off to end before it is refused instead. Default 5000. */
  maxBackOffWaitMs?: number;
  /** Its time (default: performance.now() and a timer); a test drives its own to see each start. */
  clock?: LimiterClock;
}

/** Monotonic milliseconds, and a way to be called back after some of them. */
export interface LimiterClock {
  now(): number;
  after(ms: number, run: () => void): void;
}

const realClock: LimiterClock = {
  now: () => performance.now(),
  after: (ms, run) => void setTimeout(run, ms),
};

/** Refused without calling: the upstream is backing off for longer than a call should wait. */
export class UpstreamBackedOff extends Error {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(`The upstream asked to wait ${retryAfterSeconds} s (Retry-After).`);
    this.name = 'UpstreamBackedOff';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Gives the slot back; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  resolve(release: Release): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

const WINDOW_MS = 1000;

export class UpstreamLimiter {
  readonly maxInFlight: number;
  readonly maxPerSecond: number | null;
  readonly #maxBackOffWaitMs: number;
  #inFlight = 0;
  #waiting: Waiter[] = [];
  /** Start times of the last `maxPerSecond` calls, a ring: `#next` is the oldest. */
  readonly #starts: Float64Array | null;
  #next = 0;
  /** No call starts before this (performance.now() ms). */
  #backOffUntil = 0;
  #timerSet = false;
  readonly #clock: LimiterClock;

  constructor(limits: UpstreamLimits) {
    if (!Number.isInteger(limits.maxInFlight) || limits.maxInFlight < 1)
      throw new RangeError('maxInFlight must be ≥ 1');
    if (limits.maxPerSecond !== null && (!Number.isInteger(limits.maxPerSecond) || limits.maxPerSecond < 1))
      throw new RangeError('maxPerSecond must be ≥ 1 or null');
    this.maxInFlight = limits.maxInFlight;
    this.maxPerSecond = limits.maxPerSecond;
    this.#maxBackOffWaitMs = limits.maxBackOffWaitMs ?? 5000;
    this.#clock = limits.clock ?? realClock;
    this.#starts = limits.maxPerSecond === null ? null : new Float64Array(limits.maxPerSecond).fill(-Infinity);
  }

  /** Calls holding a slot now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls queued for a slot now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Waits for a slot: resolves with its release, rejects with the signal's reason when it aborts
   * first, or with {@link UpstreamBackedOff} when the upstream backs off for too long.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const refusal = this.#refusal();
    if (refusal) return Promise.reject(refusal);
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiting.push(waiter);
      this.#pump();
    });
  }

  /**
   * The upstream said `Retry-After`: no call starts for that long, and those waiting that would
   * wait too long are refused now.
   */
  backOff(seconds: number): void {
    if (!(seconds > 0)) return;
    this.#backOffUntil = Math.max(this.#backOffUntil, this.#clock.now() + seconds * 1000);
    const refusal = this.#refusal();
    if (refusal) {
      for (const w of this.#waiting.splice(0)) {
        w.signal?.removeEventListener('abort', w.onAbort);
        w.reject(refusal);
      }
    }
    this.#pump();
  }

  #refusal(): UpstreamBackedOff | null {
    const left = this.#backOffUntil - this.#clock.now();
    return left > this.#maxBackOffWaitMs ? new UpstreamBackedOff(Math.ceil(left / 1000)) : null;
  }

  #pump(): void {
    while (this.#waiting.length && this.#inFlight < this.maxInFlight) {
      const now = this.#clock.now();
      const at = Math.max(this.#backOffUntil, this.#starts ? this.#starts[this.#next]! + WINDOW_MS : 0);
      if (at > now) {
        if (!this.#timerSet) {
          this.#timerSet = true;
          this.#clock.after(Math.ceil(at - now), () => {
            this.#timerSet = false;
            this.#pump();
          });
        }
        return;
      }
      const waiter = this.#waiting.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.#inFlight++;
      if (this.#starts) {
        this.#starts[this.#next] = now;
        this.#next = (this.#next + 1) % this.#starts.length;
      }
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        this.#inFlight--;
        this.#pump();
      });
    }
  }
}
