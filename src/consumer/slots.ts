/**
 * In-flight limiting: a counted slot per unit in flight, and one waiter woken when a slot frees
 * (no race over every unit in flight for each start: that cost more than a no-op handler).
 */
export class Slots {
  readonly #limit: number;
  #active = 0;
  #wake: (() => void) | null = null;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Waits until a slot is free (or `give up` says to stop waiting); false when given up. */
  async take(giveUp: () => boolean): Promise<boolean> {
    while (this.#active >= this.#limit && !giveUp()) await new Promise<void>((resolve) => (this.#wake = resolve));
    if (giveUp()) return false;
    this.#active++;
    return true;
  }

  release(): void {
    this.#active--;
    const woken = this.#wake;
    this.#wake = null;
    woken?.();
  }
}
