/**
 * A handler's deadline (`consumer.handlerTimeoutSeconds`): it covers the handler's own time, not
 * its waits. Time spent waiting for the batch transaction's lock (behind other handlers'
 * statements), or for what the handler says it waits for outside itself (`ctx.outsideDeadline`:
 * an upstream's calls-per-second cap or its `Retry-After`), does not count against it.
 */

export class HandlerTimeoutError extends Error {
  readonly retriable = true;
  constructor(ms: number) {
    super(`The operation's handler did not finish within ${ms / 1000} s; it was aborted.`);
    this.name = 'HandlerTimeoutError';
  }
}

export class HandlerDeadline {
  readonly #controller = new AbortController();
  readonly #ms: number;
  #left: number;
  #armedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;
  readonly #also: AbortSignal | undefined;
  readonly #forward = (): void => this.#controller.abort(this.#also!.reason);

  /**
   * `also`: a signal that aborts this one too (the batch's lost claims), with its own reason. One
   * controller per handler, its listener removed when it finishes: a signal fed by `AbortSignal.any`
   * stays alive (and with it the unit) as long as its sources could abort.
   */
  constructor(ms: number, also?: AbortSignal) {
    this.#ms = ms;
    this.#left = ms;
    this.#also = also;
    if (also?.aborted) this.#controller.abort(also.reason);
    else also?.addEventListener('abort', this.#forward, { once: true });
    this.#arm();
  }

  /** Aborted with a {@link HandlerTimeoutError} when the deadline passes, or with `also`'s reason. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Waits under way: the clock stops while there is one (waits may overlap in a batch handler). */
  #waits = 0;

  /** The clock stops while the handler waits (the transaction's lock, {@link outside}). */
  readonly waits = {
    waiting: (): void => {
      if (this.#waits++ > 0) return;
      clearTimeout(this.#timer);
      this.#left = Math.max(0, this.#left - (performance.now() - this.#armedAt));
    },
    entered: (): void => {
      if (--this.#waits > 0) return;
      if (!this.#controller.signal.aborted && !this.#finished) this.#arm();
    },
  };

  /** Waits for `pending` with the clock stopped. */
  async outside<T>(pending: Promise<T>): Promise<T> {
    this.waits.waiting();
    try {
      return await pending;
    } finally {
      this.waits.entered();
    }
  }

  /** The handler is done: the deadline no longer fires. */
  finish(): void {
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#also?.removeEventListener('abort', this.#forward);
  }

  #arm(): void {
    if (this.#controller.signal.aborted) return;
    this.#armedAt = performance.now();
    this.#timer = setTimeout(() => this.#controller.abort(new HandlerTimeoutError(this.#ms)), this.#left);
  }
}
