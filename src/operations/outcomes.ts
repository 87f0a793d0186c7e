/**
 * Recording outcomes: fenced by the claim's token, with the retry job of a retriable failure
 * (retries.ts) inserted and the delivery completed in the same transaction, so `will_retry` is true
 * exactly while that job exists.
 */
import type { Job, JobAttempt } from 'pg-boss';
import type { PoolClient } from '../db/pool.ts';
import { prepared } from '../db/prepared.ts';
import { bossDb, settledIds } from '../queue/adapter.ts';
import { bossSchemaFor } from '../queue/boss.ts';
import type { OperationJob } from '../queue/names.ts';
import * as sql from './outcomes.sql.ts';
import { ClaimLostError } from './claims.ts';
import { addressOf, rowAddress, attemptOf, attemptToken, type OperationRow, type Outcome } from './operation.ts';
import type { LifecycleContext, LifecyclePolicy } from './policy.ts';
import { retryDueIn, retryJobs } from './retries.ts';
import { STATUS_RETRIABLY_FAILED } from './status.ts';

export interface Recorded {
  bulk_uuid: string;
  operation_key: number;
  will_retry: boolean;
  /** When its automatic retry is due (with `will_retry`). */
  retry_at: Date | null;
  attempts: number;
  reopened: number;
}

/**
 * The parameters of outcomes.sql.ts `recordOutcomes`, in (bulk, key) order: every writer locks
 * operation rows in that one order, so two never wait for each other crosswise (a deadlock).
 * `attempts: 'job ids'` for its `settled` form, whose fence is the completion's: job ids, no tokens.
 */
export function outcomeArrays(
  unsorted: readonly { job: Job<OperationJob>; row: OperationRow; outcome: Outcome }[],
  startedAt: Date,
  policy: LifecyclePolicy,
  queue: string,
  attempts: 'tokens' | 'job ids' = 'tokens',
) {
  const items = [...unsorted].sort(byAddress);
  const bulks: string[] = [];
  const keys: number[] = [];
  const tokens: string[] = [];
  const statuses: number[] = [];
  const errorCodes: (number | null)[] = [];
  const messages: string[] = [];
  const results: (string | null)[] = [];
  const dueIn: number[] = [];
  // One pass (eight map()s over the batch were 1% of a no-op run's Node CPU).
  for (const { row, job, outcome } of items) {
    bulks.push(row.bulk_uuid);
    keys.push(row.operation_key);
    tokens.push(attempts === 'tokens' ? attemptToken(job) : job.id);
    statuses.push(outcome.status);
    errorCodes.push(outcome.errorCode);
    messages.push(outcome.message);
    results.push(outcome.result);
    dueIn.push(retryDueIn(policy, row, outcome));
  }
  return [
    bulks,
    keys,
    tokens,
    statuses,
    errorCodes,
    messages,
    results,
    // Seconds since: the database subtracts them from its own clock (outcomes.sql.ts).
    Math.max(0, Date.now() - startedAt.getTime()) / 1000,
    policy.retryLimit,
    dueIn,
    queue,
  ];
}

const byAddress = (a: { row: OperationRow }, b: { row: OperationRow }): number =>
  a.row.bulk_uuid !== b.row.bulk_uuid
    ? a.row.bulk_uuid < b.row.bulk_uuid
      ? -1
      : 1
    : a.row.operation_key - b.row.operation_key;

/**
 * Records outcomes and settles their jobs in the caller's open transaction: the outcomes (fenced),
 * the retry jobs of those that will be retried, and the completion of the delivered jobs. The
 * delivery is completed whatever became of the outcome: a fenced-out one belongs to the worker that
 * took the claim over, which has its own delivery. Returns the outcomes written whose delivery was
 * still ours at its completion: fewer than `items` means a claim was lost on the way, and the
 * caller rolls the transaction back (a retry job beside a job pg-boss delivers again would give
 * the operation two).
 */
export async function recordOn(
  ctx: LifecycleContext,
  client: PoolClient,
  queue: string,
  items: { job: Job<OperationJob>; row: OperationRow; outcome: Outcome }[],
  done: JobAttempt[],
  startedAt: Date,
): Promise<Recorded[]> {
  const recorded = items.length
    ? (
        await client.query<Recorded>(
          prepared(
            sql.recordOutcomes(ctx.schema, bossSchemaFor(ctx.boss)),
            outcomeArrays(items, startedAt, ctx.policy, queue),
          ),
        )
      ).rows
    : [];
  const db = bossDb(client);
  const retries = retryJobs(recorded);
  if (retries.length) await ctx.boss.insert(queue, retries, { db });
  const jobs = [...items.map((i) => attemptOf(i.job)), ...done];
  if (!jobs.length) return recorded;
  const settled = settledIds(await ctx.boss.complete(queue, jobs, null, { db }));
  if (!settled) return recorded;
  const ours = new Set(items.filter((i) => settled.includes(i.job.id)).map((i) => rowAddress(i.row)));
  return recorded.filter((r) => ours.has(addressOf(r.bulk_uuid, r.operation_key)));
}

/** {@link recordOn} in a transaction of its own; a claim lost on the way rolls it back (ClaimLostError). */
export async function recordOutcomes(
  ctx: LifecycleContext,
  queue: string,
  items: { job: Job<OperationJob>; row: OperationRow; outcome: Outcome }[],
  done: JobAttempt[],
  startedAt: Date,
): Promise<Recorded[]> {
  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    const recorded = await recordOn(ctx, client, queue, items, done, startedAt);
    if (recorded.length !== items.length) throw new ClaimLostError();
    await client.query('COMMIT');
    client.release();
    return recorded;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(error as Error);
    throw error;
  }
}

/** Whether recording these outcomes needs more than the one-statement completion (a retry job). */
export const needsTransaction = (items: readonly { outcome: Outcome }[]): boolean =>
  items.some((i) => i.outcome.status === STATUS_RETRIABLY_FAILED);
