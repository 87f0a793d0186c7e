/**
 * Retry policy: a retriable failure with runs left (`LifecyclePolicy.retryLimit`) is status 2 with
 * `will_retry` (outcomes.sql.ts) and gets a retry job, inserted in the transaction that records it,
 * due after the backoff or the upstream's `Retry-After`, whichever is later.
 */
import type { JobInsert } from 'pg-boss';
import { retryJobIdFor, type OperationJob } from '../queue/names.ts';
import { addressOf, type OperationRow, type Outcome } from './operation.ts';
import type { Recorded } from './outcomes.ts';
import type { LifecycleContext, LifecyclePolicy } from './policy.ts';

/** Seconds before the `run`-th run (2 for the first retry) of a retriably failed operation. */
export function retryDelaySeconds(policy: LifecyclePolicy, run: number): number {
  const base = policy.retryDelaySeconds;
  if (!policy.retryBackoff) return base;
  const exp = Math.min(base * 2 ** Math.max(0, run - 2), policy.retryDelayMaxSeconds);
  // Jitter (between the delay and twice it) so operations that failed together do not all come
  // back in the same second.
  return Math.min(policy.retryDelayMaxSeconds, Math.ceil(exp + Math.random() * exp));
}

/**
 * The jobs of the automatic retries just recorded; none starts before the `Retry-After` its
 * outcome asked for.
 */
export function retryJobs(
  ctx: LifecycleContext,
  recorded: readonly Recorded[],
  items: readonly { row: OperationRow; outcome: Outcome }[] = [],
): JobInsert<OperationJob>[] {
  const after = new Map<string, number>();
  for (const i of items) {
    if (i.outcome.retryAfterSeconds)
      after.set(addressOf(i.row.bulk_uuid, i.row.operation_key), i.outcome.retryAfterSeconds);
  }
  return recorded
    .filter((r) => r.will_retry)
    .map((r) => ({
      id: retryJobIdFor(r.bulk_uuid, r.operation_key, r.reopened, r.attempts + 1),
      data: { bulk: r.bulk_uuid, key: r.operation_key },
      startAfter: Math.max(
        retryDelaySeconds(ctx.policy, r.attempts + 1),
        after.get(addressOf(r.bulk_uuid, r.operation_key)) ?? 0,
      ),
    }));
}
