/**
 * Sweeping: every unfinished, unclaimed operation has a job. The sweeper gives one with no live
 * job (deleted by pg-boss retention, or by hand) a new one; a job that ran out of deliveries
 * (dead-lettered) closes its operation if it is still unfinished and unclaimed.
 */
import { randomUUID } from 'node:crypto';
import type { Job, JobInsert } from 'pg-boss';
import type { OperationJob } from '../queue/names.ts';
import type { LifecycleContext } from './policy.ts';
import * as sql from './sweep.sql.ts';

export const ABANDONED_MESSAGE =
  'The operation did not finish: its worker stopped on every attempt (crashed or timed out). Retry it once the cause is fixed.';

/** Dead-lettered jobs: their operations, if still unfinished and unclaimed, are closed as status 2. */
export async function closeAbandoned(ctx: LifecycleContext, jobs: readonly Job<OperationJob>[]): Promise<number> {
  const result = await ctx.pool.query(sql.closeAbandonedOperations(ctx.schema), [
    jobs.map((j) => j.data.bulk),
    jobs.map((j) => j.data.key),
    ABANDONED_MESSAGE,
  ]);
  return result.rowCount ?? 0;
}

/**
 * The sweeper: gives every unfinished, unclaimed operation with no live job a new one (a job
 * deleted by pg-boss retention, or by hand). Returns how many it re-enqueued.
 */
export async function sweep(
  ctx: LifecycleContext,
  bossSchema: string,
  queueOf: (operationId: string) => string | undefined,
  queues: readonly string[],
  limit = 10_000,
): Promise<number> {
  const { rows } = await ctx.pool.query<{ bulk_uuid: string; operation_key: number; operation_id: string }>(
    sql.selectOrphans(ctx.schema, bossSchema),
    [queues, limit],
  );
  const byQueue = new Map<string, JobInsert<OperationJob>[]>();
  for (const r of rows) {
    const queue = queueOf(r.operation_id);
    if (!queue || !queues.includes(queue)) continue;
    let list = byQueue.get(queue);
    if (!list) byQueue.set(queue, (list = []));
    list.push({ id: randomUUID(), data: { bulk: r.bulk_uuid, key: r.operation_key } });
  }
  let count = 0;
  for (const [queue, jobs] of byQueue) {
    await ctx.boss.insert(queue, jobs);
    count += jobs.length;
  }
  return count;
}
