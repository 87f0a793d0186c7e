/**
 * Claim only what can start: a consumer claims (and so starts a lease for) no more operations than
 * it can start now. Its handler slots (`inFlight` per fetch loop) are shared by every fetch loop,
 * and an operation forwarded to an upstream also needs one of that upstream's slots (a
 * {@link Gate}). A loop reserves before it fetches: at most the free handler slots, and for a queue
 * whose operations may be forwarded, at most the gate's free slots; what the fetch did not bring,
 * or brought but could not claim, goes back at once, and each claim's share goes back when its run
 * ends. So no claimed operation waits for a slot: its lease and its handler deadline never run
 * while it waits its turn.
 */
import type { Gate } from '../kernel/gate.ts';
import type { Claimed } from '../operations/claims.ts';

export class Capacity {
  #free: number;
  /** Slots of each gate held by this consumer's claims (and fetches in flight). */
  #taken = new Map<Gate, number>();
  #waiters: (() => void)[] = [];

  constructor(handlerSlots: number) {
    this.#free = Math.max(1, handlerSlots);
  }

  /** Operations of a queue whose operations may go through `gates` that could start now. */
  available(gates: readonly Gate[]): number {
    let n = this.#free;
    for (const g of gates) n = Math.min(n, g.maxInFlight - (this.#taken.get(g) ?? 0));
    return Math.max(0, n);
  }

  /** Reserves `n` (at most {@link available}) for a fetch from a queue with these gates. */
  hold(n: number, gates: readonly Gate[]): Hold {
    this.#take(n, gates);
    return new Hold(this, n, gates);
  }

  /** Resolves once something was given back (or {@link wakeAll}). */
  freed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  wakeAll(): void {
    if (!this.#waiters.length) return;
    const woken = this.#waiters;
    this.#waiters = [];
    for (const wake of woken) wake();
  }

  #take(n: number, gates: readonly Gate[]): void {
    this.#free -= n;
    for (const g of gates) this.#taken.set(g, (this.#taken.get(g) ?? 0) + n);
  }

  /** Gives back `n` handler slots and `n` slots of each of `gates`. */
  give(n: number, gates: readonly Gate[]): void {
    if (n <= 0) return;
    this.#free += n;
    for (const g of gates) this.#taken.set(g, (this.#taken.get(g) ?? 0) - n);
    this.wakeAll();
  }

  /** Gives back gate slots only (a claim that turned out not to go through them). */
  giveGates(n: number, gates: readonly Gate[]): void {
    if (n <= 0 || !gates.length) return;
    for (const g of gates) this.#taken.set(g, (this.#taken.get(g) ?? 0) - n);
    this.wakeAll();
  }
}

/** One fetch's reservation, followed through its batch. */
export class Hold {
  #capacity: Capacity;
  #gates: readonly Gate[];
  /** Unassigned shares (a handler slot and a slot of every gate each). */
  #loose: number;
  /** Each claim's share: its handler slot and the gate it goes through, if any. */
  #claims = new Map<Claimed, Gate | undefined>();

  constructor(capacity: Capacity, n: number, gates: readonly Gate[]) {
    this.#capacity = capacity;
    this.#loose = n;
    this.#gates = gates;
  }

  /** The fetch brought `count` jobs: the shares of the rest go back. */
  fetched(count: number): void {
    const back = Math.max(0, this.#loose - count);
    this.#loose -= back;
    this.#capacity.give(back, this.#gates);
  }

  /**
   * The batch's operations are claimed: each claim keeps its handler slot and the slot of the gate
   * it goes through; every other share goes back.
   */
  claimed(claims: readonly Claimed[], gateOf: (operationId: string) => Gate | undefined): void {
    const kept = Math.min(this.#loose, claims.length);
    for (const claim of claims.slice(0, kept)) {
      const gate = gateOf(claim.row.operation_id);
      const own = gate && this.#gates.includes(gate) ? gate : undefined;
      this.#claims.set(claim, own);
      if (this.#gates.length) {
        this.#capacity.giveGates(
          1,
          this.#gates.filter((g) => g !== own),
        );
      }
    }
    this.#capacity.give(this.#loose - kept, this.#gates);
    this.#loose = 0;
  }

  /** A claim's run ended (or it was given back unrun): its share goes back. */
  done(claim: Claimed): void {
    if (!this.#claims.has(claim)) return;
    const gate = this.#claims.get(claim);
    this.#claims.delete(claim);
    this.#capacity.give(1, []);
    if (gate) this.#capacity.giveGates(1, [gate]);
  }

  /** Everything still held goes back (the batch ended). */
  release(): void {
    for (const claim of [...this.#claims.keys()]) this.done(claim);
    this.#capacity.give(this.#loose, this.#gates);
    this.#loose = 0;
  }
}
