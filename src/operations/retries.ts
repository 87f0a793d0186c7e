/**
 * Retry policy: a retriable failure with runs left (`LifecyclePolicy.retryLimit`) is status 2 with
 * `will_retry` (outcomes.sql.ts) and gets a retry job, inserted in the transaction that records it,
 * due after the backoff or the upstream's `Retry-After`, whichever is later.
 */
import type { JobInsert } from 'pg-boss';
import { retryJobIdFor, type OperationJob } from '../queue/names.ts';
import type { OperationRow, Outcome } from './operation.ts';
import type { Recorded } from './outcomes.ts';
import type { LifecyclePolicy } from './policy.ts';
import { STATUS_RETRIABLY_FAILED } from './status.ts';

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
 * Seconds until the automatic retry of a run with this outcome is due, should it get one: its
 * backoff, or the `Retry-After` the outcome asked for when that is longer. Its retry is the run
 * after the runs since its last reopening (the retry API keeps `attempts`).
 */
export function retryDueIn(policy: LifecyclePolicy, row: OperationRow, outcome: Outcome): number {
  if (outcome.status !== STATUS_RETRIABLY_FAILED) return 0;
  const run = row.attempts - row.attempts_at_reopen + 2;
  return Math.max(retryDelaySeconds(policy, run), outcome.retryAfterSeconds ?? 0);
}

/**
 * The jobs of the automatic retries just recorded, each starting when its operation's retry is
 * due (`retry_at`, written with the outcome): a claim takes the operation no earlier either.
 */
export function retryJobs(recorded: readonly Recorded[]): JobInsert<OperationJob>[] {
  return recorded
    .filter((r) => r.will_retry)
    .map((r) => ({
      id: retryJobIdFor(r.bulk_uuid, r.operation_key, r.reopened, r.attempts + 1),
      data: { bulk: r.bulk_uuid, key: r.operation_key },
      startAfter: r.retry_at ?? 0,
    }));
}
