/**
 * A batch's units of work: the claims of an operationId with a batch handler together, in one unit,
 * every other claim in a unit of its own; in delivery order.
 */
import type { Claimed } from '../operations/claims.ts';
import type { Outcome } from '../operations/operation.ts';
import type { UnitTransaction } from './transaction.ts';

/** What a unit of work sees: its savepoint of the shared transaction and its abort signal. */
export interface UnitContext {
  tx: UnitTransaction;
  /** Aborted at the handler timeout or when the batch's claims could lapse. */
  signal: AbortSignal;
  /** Waits for `pending` with the handler timeout's clock stopped (HandlerContext.outsideDeadline). */
  outsideDeadline<T>(pending: Promise<T>): Promise<T>;
}

/**
 * A batch handler's or a handler's work for `claims`: an outcome per claim, in their order. Throwing
 * fails every claim of the unit with that error (its savepoint rolled back).
 */
export type UnitWork = (unit: UnitContext) => Promise<Outcome[]>;

export interface Unit {
  claims: Claimed[];
  /** The batch handler's work; none: the claim's own handler. */
  work?: UnitWork;
}

export type BatchHandlerOf = (
  operationId: string,
) => ((claims: Claimed[], unit: UnitContext) => Promise<Outcome[]>) | undefined;

export function planUnits(claims: readonly Claimed[], batchHandlerOf: BatchHandlerOf | undefined): Unit[] {
  const units: Unit[] = [];
  const grouped = new Map<string, Unit>();
  for (const claim of claims) {
    const id = claim.row.operation_id;
    const batch = batchHandlerOf?.(id);
    if (!batch) {
      units.push({ claims: [claim] });
      continue;
    }
    let unit = grouped.get(id);
    if (!unit) {
      const group: Claimed[] = [];
      unit = { claims: group, work: (u) => batch(group, u) };
      grouped.set(id, unit);
      units.push(unit);
    }
    unit.claims.push(claim);
  }
  return units;
}
