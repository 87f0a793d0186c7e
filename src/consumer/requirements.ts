/**
 * The consumer's side of operations that wait for what they reference: reads what each claimed
 * operation requires (its plugins' `requires`, on its arguments) and lets the lifecycle's rule
 * (src/operations/requires.ts) decide which run now, wait, or fail.
 */
import type { Requires } from '../kernel/requirement.ts';
import type { Claimed } from '../operations/claims.ts';
import { lookBeforeRunning, requiredKeys, type Looked, type Needs } from '../operations/requires.ts';
import type { BatchContext } from './batch.ts';
import { logOf, operationArgs } from './handler-context.ts';

export interface Dependencies {
  /** The `requires` of an operationId (every plugin's, in load order), or none. */
  requiresOf(operationId: string): readonly Requires[] | undefined;
  /** Longest an operation waits for one it requires before it fails (`consumer.requiresWaitLimitSeconds`). */
  waitLimitSeconds: number;
}

export function lookFirst(ctx: BatchContext, dependencies: Dependencies, claims: Claimed[]): Promise<Looked> {
  return lookBeforeRunning(
    ctx,
    claims.map((claim) => needsOf(ctx, dependencies, claim)),
    dependencies.waitLimitSeconds,
  );
}

function needsOf(ctx: BatchContext, dependencies: Dependencies, claim: Claimed): Needs {
  const declared = dependencies.requiresOf(claim.row.operation_id);
  if (!declared?.length) return { claim, keys: [] };
  try {
    const args = operationArgs(ctx, claim.row);
    return { claim, keys: requiredKeys(declared, args, claim.row.store_id) };
  } catch (error) {
    logOf(ctx, claim.row).warn({ err: error }, 'could not read what the operation requires');
    return { claim, keys: { error: String(error) } };
  }
}
