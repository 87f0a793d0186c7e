/**
 * Batch handlers on the executor's side (the seam `BatchContext.batchHandlerOf` of batch.ts): the
 * claims of a delivered batch that share an operationId with a batch chain (PluginRegistry.batch)
 * run as one unit of the batch's shared transaction, in one call of the batch handler.
 *
 * What keeps the single path's guarantees:
 * - Order per entity key: a claim never holds two unfinished operations of one key (the later one
 *   is busy until the earlier one is final), so a unit has at most one operation per key; the unit
 *   keeps the claims' order.
 * - One bad operation never fails its neighbours: the call runs in a savepoint of its own; when it
 *   throws (the set-based statement, an interceptor, a malformed answer) that savepoint is rolled
 *   back and the operations run one by one through the single handler, each in its own savepoint,
 *   where each fails or succeeds alone. Nothing of the failed call remains.
 * - An operation whose stored arguments cannot be read fails alone, as its single run would.
 */
import type { Claimed } from '../operations/claims.ts';
import type { Outcome } from '../operations/operation.ts';
import { failureOutcome as failure, successOutcome as success } from '../operations/status.ts';
import type { BatchOperation, BatchOutcome } from '../kernel/handler.ts';
import type { BatchInvocation } from '../plugins/registry.ts';
import type { BatchContext } from './batch.ts';
import { operationArgs, operationContext } from './handler-context.ts';
import type { UnitContext } from './units.ts';

/**
 * `BatchContext.batchHandlerOf` for an invoker with batch chains: per operationId, the unit work
 * that runs its claims through the chain, or undefined (no chain: one unit per operation).
 */
export function batchHandlersOf(
  context: () => BatchContext,
): (operationId: string) => ((claims: Claimed[], unit: UnitContext) => Promise<Outcome[]>) | undefined {
  return (operationId) => {
    const ctx = context();
    const batch = ctx.invoker.batch?.(operationId);
    return batch ? (claims, unit) => runGroup(ctx, operationId, batch, claims, unit) : undefined;
  };
}

async function runGroup(
  ctx: BatchContext,
  operationId: string,
  batch: BatchInvocation,
  claims: Claimed[],
  unit: UnitContext,
): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = new Array(claims.length);
  const ops: BatchOperation[] = [];
  const at: number[] = [];
  for (const [i, c] of claims.entries()) {
    try {
      ops.push({ args: operationArgs(ctx, c.row), ctx: operationContext(ctx, c.row, unit) });
      at.push(i);
    } catch (error) {
      outcomes[i] = failure(error, c.row);
    }
  }
  if (!ops.length) return outcomes as Outcome[];
  let answered: readonly BatchOutcome[];
  try {
    answered = await unit.tx.savepoint(() =>
      batch.run(ops, { tx: unit.tx, operationId, signal: unit.signal, log: ctx.log }),
    );
  } catch (error) {
    if (unit.signal.aborted) throw error;
    ctx.log.warn({ err: error, operationId, batch: ops.length }, 'batch handler failed; its operations run one by one');
    for (const i of at) outcomes[i] = await runSingly(ctx, claims[i]!, unit);
    return outcomes as Outcome[];
  }
  for (const [k, i] of at.entries()) {
    const o = answered[k]!;
    outcomes[i] = o.ok ? success(batch.handler, o.result) : failure(o.error, claims[i]!.row);
  }
  return outcomes as Outcome[];
}

/** One operation through its single handler and interceptors, in a savepoint of its own. */
async function runSingly(ctx: BatchContext, claim: Claimed, unit: UnitContext): Promise<Outcome> {
  const { row } = claim;
  try {
    const invocation = await unit.tx.savepoint(() =>
      ctx.invoker.invoke(row.operation_id, operationArgs(ctx, row), operationContext(ctx, row, unit)),
    );
    return success(invocation.handler, invocation.result);
  } catch (error) {
    if (unit.signal.aborted) throw error;
    return failure(error, row);
  }
}
