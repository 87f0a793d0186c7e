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
  /** Made when a handler first reads `signal`: most never do, and an AbortController is not free. */
  #controller: AbortController | null = null;
  #aborted = false;
  #reason: unknown = undefined;
  readonly #ms: number;
  #left: number;
  #armedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;
  /** Waits under way: the clock stops while there is one (waits may overlap in a batch handler). */
  #waits = 0;
  /** Told once, when it aborts (the executor's race with the handler). */
  onAbort: ((reason: unknown) => void) | undefined;

  /**
   * No listener on the batch's lost claims per handler: the executor aborts the deadlines it runs
   * ({@link abort}) when they are lost. A signal fed by `AbortSignal.any`, or a listener per handler,
   * kept every unit alive as long as the batch could abort, and cost an EventTarget per operation.
   */
  constructor(ms: number) {
    this.#ms = ms;
    this.#left = ms;
    this.#arm();
  }

  /** Aborted with a {@link HandlerTimeoutError} when the deadline passes, or with {@link abort}'s reason. */
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

  /** Aborts the handler now (its claims could lapse), unless it has finished. */
  abort(reason: unknown): void {
    if (this.#aborted || this.#finished) return;
    this.#aborted = true;
    this.#reason = reason;
    clearTimeout(this.#timer);
    this.#controller?.abort(reason);
    this.onAbort?.(reason);
  }

  /** The clock stops while the handler waits (the transaction's lock, {@link outside}). */
  waiting(): void {
    if (this.#waits++ > 0) return;
    clearTimeout(this.#timer);
    this.#left = Math.max(0, this.#left - (performance.now() - this.#armedAt));
  }

  /** The wait that stopped the clock is over. */
  entered(): void {
    if (--this.#waits > 0) return;
    if (!this.#aborted && !this.#finished) this.#arm();
  }

  /** Waits for `pending` with the clock stopped. */
  async outside<T>(pending: Promise<T>): Promise<T> {
    this.waiting();
    try {
      return await pending;
    } finally {
      this.entered();
    }
  }

  /** The handler is done: the deadline no longer fires. */
  finish(): void {
    this.#finished = true;
    clearTimeout(this.#timer);
  }

  #arm(): void {
    if (this.#aborted) return;
    this.#armedAt = performance.now();
    this.#timer = setTimeout(() => this.abort(new HandlerTimeoutError(this.#ms)), this.#left);
  }
}
