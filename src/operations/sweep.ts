/**
 * Sweeping: every unfinished, unclaimed operation has a job. The sweeper gives one with no live
 * job (deleted by pg-boss retention, or by hand) a new one; a job that ran out of deliveries
 * (dead-lettered) closes its operation if it is still unfinished and unclaimed.
 */
import type { Job, JobInsert } from 'pg-boss';
import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/pool.ts';
import { bossDb } from '../queue/adapter.ts';
import { bossSchemaFor } from '../queue/boss.ts';
import type { OperationJob } from '../queue/names.ts';
import type { LifecycleContext } from './policy.ts';
import * as sql from './sweep.sql.ts';

export const ABANDONED_MESSAGE =
  'The operation did not finish: its worker stopped on every attempt (crashed or timed out). Retry it once the cause is fixed.';

/** Dead-lettered jobs: their operations, if still unfinished and unclaimed, are closed as status 2. */
export async function closeAbandoned(ctx: LifecycleContext, jobs: readonly Job<OperationJob>[]): Promise<number> {
  const result = await ctx.pool.query(sql.closeAbandonedOperations(ctx.schema, bossSchemaFor(ctx.boss)), [
    jobs.map((j) => j.data.bulk),
    jobs.map((j) => j.data.key),
    ABANDONED_MESSAGE,
  ]);
  return result.rowCount ?? 0;
}

/** Where the sweeper's next window starts (sweep.sql.ts `selectOrphans`): after this address. */
export interface SweepCursor {
  bulk: string;
  key: number;
}

/** Before every address: a walk from the start. */
export const sweepStart = (): SweepCursor => ({ bulk: '00000000-0000-0000-0000-000000000000', key: -1 });

/**
 * The sweeper: gives every unfinished, unclaimed operation with no live job a new one (a job
 * deleted by pg-boss retention, or by hand), starting when its retry is due when it has one coming.
 * One window of `window` operations after `cursor` per call (the cursor moves on; at the table's end
 * it goes back to the start, and `wrapped` says so), so no look reads more than that, however deep
 * the queues. One consumer sweeps at a time (an advisory lock; the others skip), the look and the
 * new jobs in one transaction, so no two sweeps give an operation a job each. (A random id, not one
 * derived from the operation's state: a state can recur, and pg-boss ignores an id it still keeps.)
 * Returns how many it re-enqueued.
 */
export async function sweep(
  ctx: LifecycleContext,
  bossSchema: string,
  queueOf: (operationId: string) => string | undefined,
  queues: readonly string[],
  cursor: SweepCursor,
  window = 10_000,
): Promise<{ count: number; wrapped: boolean }> {
  return withTransaction(ctx.pool, async (client) => {
    const { rows: lock } = await client.query<{ locked: boolean }>(sql.trySweepLock, [ctx.schema]);
    if (!lock[0]!.locked) return { count: 0, wrapped: false };
    const { rows } = await client.query<Orphan>(sql.selectOrphans(ctx.schema, bossSchema), [
      cursor.bulk,
      cursor.key,
      window,
    ]);
    const wrapped = !rows.length || rows[0]!.looked < window;
    Object.assign(cursor, wrapped ? sweepStart() : { bulk: rows[0]!.last_bulk, key: rows[0]!.last_key });
    const byQueue = new Map<string, JobInsert<OperationJob>[]>();
    for (const r of rows) {
      if (r.bulk_uuid === null) continue;
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
    return { count, wrapped };
  });
}

interface Orphan {
  last_bulk: string;
  last_key: number;
  /** Operations the window read. */
  looked: number;
  /** The orphan's columns: null when the window found none. */
  bulk_uuid: string | null;
  operation_key: number;
  operation_id: string;
  /** When its automatic retry is due, if that is still to come. */
  due: Date | null;
}
