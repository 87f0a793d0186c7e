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
  /**
   * Made when `signal` is first read. Handlers get it eagerly (a getter on their context, an object
   * literal, made it dearer than the controller: V8 defines a literal's accessors at run time).
   */
  #controller: AbortController | null = null;
  #aborted = false;
  #reason: unknown = undefined;
  readonly #ms: number;
  #left: number;
  #armedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;
  readonly #also: AbortSignal | undefined;
  readonly #forward = (): void => this.abort(this.#also!.reason);
  /** Told once, when it aborts (the executor's race with the handler: no listener on `signal`). */
  onAbort: ((reason: unknown) => void) | undefined;

  /**
   * `also`: a signal that aborts this one too (the batch's lost claims), with its own reason. One
   * listener per handler, removed when it finishes: a signal fed by `AbortSignal.any`, or one
   * listener per batch that outlives its units (d7872c1, reverted), keeps the units alive as long as
   * their sources could abort, and a worker's RSS grows with it.
   */
  constructor(ms: number, also?: AbortSignal) {
    this.#ms = ms;
    this.#left = ms;
    this.#also = also;
    if (also?.aborted) this.abort(also.reason);
    else also?.addEventListener('abort', this.#forward, { once: true });
    this.#arm();
  }

  /** Aborted with a {@link HandlerTimeoutError} when the deadline passes, or with `also`'s reason. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts the handler now, unless it has finished or aborted already. */
  abort(reason: unknown): void {
    if (this.#aborted || this.#finished) return;
    this.#aborted = true;
    this.#reason = reason;
    clearTimeout(this.#timer);
    this.#controller?.abort(reason);
    this.onAbort?.(reason);
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
      if (!this.#aborted && !this.#finished) this.#arm();
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
    this.onAbort = undefined;
  }

  #arm(): void {
    if (this.#aborted) return;
    this.#armedAt = performance.now();
    this.#timer = setTimeout(() => this.abort(new HandlerTimeoutError(this.#ms)), this.#left);
  }
}
