/**
 * Recording outcomes: fenced by the claim's token, with the retry job of a retriable failure
 * (retries.ts) inserted and the delivery completed in the same transaction, so `will_retry` is true
 * exactly while that job exists.
 */
import type { Job, JobAttempt } from 'pg-boss';
import type { PoolClient } from '../db/pool.ts';
import { prepared } from '../db/prepared.ts';
import { bossDb } from '../queue/adapter.ts';
import type { OperationJob } from '../queue/names.ts';
import * as sql from './outcomes.sql.ts';
import { attemptOf, type OperationRow, type Outcome } from './operation.ts';
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
 */
export function outcomeArrays(
  unsorted: readonly { row: OperationRow; outcome: Outcome }[],
  startedAt: Date,
  policy: LifecyclePolicy,
) {
  const items = [...unsorted].sort(byAddress);
  return [
    items.map((i) => i.row.bulk_uuid),
    items.map((i) => i.row.operation_key),
    items.map((i) => i.row.lease_token),
    items.map((i) => i.outcome.status),
    items.map((i) => i.outcome.errorCode),
    items.map((i) => i.outcome.message),
    items.map((i) => i.outcome.result),
    startedAt,
    policy.retryLimit,
    items.map((i) => retryDueIn(policy, i.row, i.outcome)),
  ];
}

const byAddress = (a: { row: OperationRow }, b: { row: OperationRow }): number =>
  a.row.bulk_uuid < b.row.bulk_uuid
    ? -1
    : a.row.bulk_uuid > b.row.bulk_uuid
      ? 1
      : a.row.operation_key - b.row.operation_key;

/**
 * Records outcomes and settles their jobs in the caller's open transaction: the outcomes (fenced),
 * the retry jobs of those that will be retried, and the completion of the delivered jobs. The
 * delivery is completed whatever became of the outcome: a fenced-out one belongs to the worker that
 * took the claim over, which has its own delivery.
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
          prepared(sql.recordOutcomes(ctx.schema), outcomeArrays(items, startedAt, ctx.policy)),
        )
      ).rows
    : [];
  const db = bossDb(client);
  const retries = retryJobs(recorded);
  if (retries.length) await ctx.boss.insert(queue, retries, { db });
  const jobs = [...items.map((i) => attemptOf(i.job)), ...done];
  if (jobs.length) await ctx.boss.complete(queue, jobs, null, { db });
  return recorded;
}

/** {@link recordOn} in a transaction of its own. */
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
    await client.query('COMMIT');
    client.release();
    return recorded;
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
}

/** Whether recording these outcomes needs more than the one-statement completion (a retry job). */
export const needsTransaction = (items: readonly { outcome: Outcome }[]): boolean =>
  items.some((i) => i.outcome.status === STATUS_RETRIABLY_FAILED);
