/**
 * A handler's deadline (`consumer.handlerTimeoutSeconds`): it covers the handler's own time, not
 * its waits. Time spent waiting for the batch transaction's lock (behind other handlers'
 * statements), or for what the handler says it waits for outside itself (`ctx.outsideDeadline`:
 * an upstream's calls-per-second cap or its `Retry-After`), does not count against it.
 *
 * The deadlines of a batch share one clock ({@link DeadlineClock}): one timer for the earliest of
 * them, and one call that aborts them all when the batch's claims could lapse. A timer and an
 * EventTarget listener per handler were 4% of a no-op run's Node CPU.
 */

export class HandlerTimeoutError extends Error {
  readonly retriable = true;
  constructor(ms: number) {
    super(`The operation's handler did not finish within ${ms / 1000} s; it was aborted.`);
    this.name = 'HandlerTimeoutError';
  }
}

/**
 * The running deadlines of one batch. A deadline is in it from its start until it finishes or
 * aborts, so nothing of a finished handler stays reachable from the batch (nor the batch from a
 * timer once none runs: the timer is cleared when the last deadline leaves).
 */
export class DeadlineClock {
  /** Each at its `slot` (an array, not a Set: a Set hashed every new deadline). */
  #live: HandlerDeadline[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** performance.now() the timer fires at. */
  #timerAt = Infinity;
  /** Live deadlines whose clock runs (not waiting). */
  #armed = 0;

  /** Aborts every running deadline with `reason` (the batch's claims could lapse). */
  abortAll(reason: unknown): void {
    for (const deadline of [...this.#live]) deadline.abort(reason);
  }

  /** @internal HandlerDeadline's own bookkeeping. */
  enter(deadline: HandlerDeadline): void {
    deadline.slot = this.#live.push(deadline) - 1;
  }

  /** @internal */
  leave(deadline: HandlerDeadline): void {
    if (deadline.slot < 0) return;
    const last = this.#live.pop()!;
    if (last !== deadline) {
      this.#live[deadline.slot] = last;
      last.slot = deadline.slot;
    }
    deadline.slot = -1;
  }

  /** @internal A deadline's clock runs until `dueAt`. */
  arm(dueAt: number): void {
    this.#armed++;
    if (dueAt < this.#timerAt) this.#schedule(dueAt);
  }

  /** @internal A deadline's clock stopped (it waits, finished or aborted). */
  disarm(): void {
    if (--this.#armed > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #schedule(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const deadline of [...this.#live]) {
      const due = deadline.dueAt;
      if (due <= now) deadline.expire();
      else if (due < next) next = due;
    }
    if (next < Infinity && this.#armed > 0 && this.#timer === undefined) this.#schedule(next);
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
  /** performance.now() it expires at while its clock runs; Infinity while it waits or once it ended. */
  dueAt = Infinity;
  /** @internal Where its clock keeps it while it runs; -1 once it ended. */
  slot = -1;
  #finished = false;
  readonly #clock: DeadlineClock;
  /** Told once, when it aborts (the executor's race with the handler: no listener on `signal`). */
  onAbort: ((reason: unknown) => void) | undefined;

  /** Starts running on `clock` (the batch's: it also aborts it when the batch's claims could lapse). */
  constructor(ms: number, clock: DeadlineClock) {
    this.#ms = ms;
    this.#left = ms;
    this.#clock = clock;
    clock.enter(this);
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

  /** Aborts the handler now, unless it has finished or aborted already. */
  abort(reason: unknown): void {
    if (this.#aborted || this.#finished) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#disarm();
    this.#clock.leave(this);
    this.#controller?.abort(reason);
    this.onAbort?.(reason);
  }

  /** @internal Its clock's timer found it due. */
  expire(): void {
    this.abort(new HandlerTimeoutError(this.#ms));
  }

  /** Waits under way: the clock stops while there is one (waits may overlap in a batch handler). */
  #waits = 0;

  /** The clock stops while the handler waits (the transaction's lock, {@link outside}). */
  waiting(): void {
    if (this.#waits++ > 0) return;
    if (this.dueAt === Infinity) return;
    this.#left = Math.max(0, this.#left - (performance.now() - this.#armedAt));
    this.#disarm();
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
    if (this.#finished) return;
    this.#finished = true;
    this.#disarm();
    this.#clock.leave(this);
    this.onAbort = undefined;
  }

  #arm(): void {
    if (this.#aborted || this.dueAt !== Infinity) return;
    this.#armedAt = performance.now();
    this.dueAt = this.#armedAt + this.#left;
    this.#clock.arm(this.dueAt);
  }

  #disarm(): void {
    if (this.dueAt === Infinity) return;
    this.dueAt = Infinity;
    this.#clock.disarm();
  }
}
