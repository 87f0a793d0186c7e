/**
 * Sweeping: every unfinished, unclaimed operation has a job. The sweeper gives one with no live
 * job (deleted by pg-boss retention, or by hand) a new one; a job that ran out of deliveries
 * (dead-lettered) closes its operation if it is still unfinished and unclaimed.
 */
import type { Job, JobInsert } from 'pg-boss';
import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/pool.ts';
import { bossDb } from '../queue/adapter.ts';
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
 * deleted by pg-boss retention, or by hand), starting when its retry is due when it has one coming.
 * One consumer sweeps at a time (an advisory lock; the others skip), the look and the new jobs in
 * one transaction, so no two sweeps give an operation a job each. (A random id, not one derived
 * from the operation's state: a state can recur, and pg-boss ignores an id it still keeps.)
 * Returns how many it re-enqueued.
 */
export async function sweep(
  ctx: LifecycleContext,
  bossSchema: string,
  queueOf: (operationId: string) => string | undefined,
  queues: readonly string[],
  limit = 10_000,
): Promise<number> {
  return withTransaction(ctx.pool, async (client) => {
    const { rows: lock } = await client.query<{ locked: boolean }>(sql.trySweepLock, [ctx.schema]);
    if (!lock[0]!.locked) return 0;
    const { rows } = await client.query<Orphan>(sql.selectOrphans(ctx.schema, bossSchema), [queues, limit]);
    const byQueue = new Map<string, JobInsert<OperationJob>[]>();
    for (const r of rows) {
      const queue = queueOf(r.operation_id);
      if (!queue || !queues.includes(queue)) continue;
      let list = byQueue.get(queue);
      if (!list) byQueue.set(queue, (list = []));
      list.push({
        id: randomUUID(),
        data: { bulk: r.bulk_uuid, key: r.operation_key },
        ...(r.due ? { startAfter: r.due } : {}),
      });
    }
    let count = 0;
    for (const [queue, jobs] of byQueue) {
      await ctx.boss.insert(queue, jobs, { db: bossDb(client) });
      count += jobs.length;
    }
    return count;
  });
}

interface Orphan {
  bulk_uuid: string;
  operation_key: number;
  operation_id: string;
  /** When its automatic retry is due, if that is still to come. */
  due: Date | null;
}
