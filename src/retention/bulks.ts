/**
 * Bulk retention, Magento's "Days Saved in Log" (`system/bulk/lifetime`, 60 days): finished bulks
 * started `retention.bulkDays` days ago or earlier are deleted with everything that hangs off them
 * (operations, counters, idempotency keys, webhooks and their deliveries by cascade) and then
 * pg-boss's jobs of them. Unlike Magento's cron, which deletes every old bulk in one statement:
 * - a bulk that is not finished (src/operations/finished.ts) is kept whatever its age;
 * - the work goes in transactions of at most `batchOperations` operations (a bigger bulk in slices
 *   of its operations, its row last), so the sweep never holds a lock for long and a sweep that
 *   stops half way is simply finished by the next one;
 * - every server runs the timer, but one sweeps at a time (a session advisory lock; the others
 *   skip that round).
 */
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Logger } from '../kernel/logger.ts';
import { every } from '../kernel/periodic.ts';
import { systemClock, utcTimestamp, type Clock } from '../kernel/clock.ts';
import * as sql from './bulks.sql.ts';

export interface BulkRetentionOptions {
  pool: pg.Pool;
  boss: PgBoss;
  schema: string;
  bossSchema: string;
  /** Bulks started this many days ago or earlier are deleted once finished. */
  bulkDays: number;
  /** Most operations one transaction deletes. */
  batchOperations: number;
  log: Logger;
  /** The clock the age of a bulk is measured by (tests move it). Default: the system's. */
  now?: Clock;
}

/** What one sweep did. */
export interface RetentionSweep {
  bulks: number;
  operations: number;
  jobs: number;
  /** Transactions that deleted bulks, operations or jobs, and the longest of them (how long locks were held). */
  transactions: number;
  longestTransactionMs: number;
}

/** Bulks read per page while looking for expired ones. */
const PAGE = 1000;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Deletes every expired finished bulk now. Returns null when another server is sweeping (it
 * holds the lock); a sweep is then already under way.
 */
export async function sweepExpiredBulks(options: BulkRetentionOptions): Promise<RetentionSweep | null> {
  const { pool, schema, batchOperations } = options;
  const lockName = sql.retentionLockName(schema);
  // The lock is the session's: every statement of the sweep runs on this one connection.
  const client = await pool.connect();
  let keepsLock = false;
  try {
    const { rows } = await client.query<{ locked: boolean }>(sql.tryRetentionLock, [lockName]);
    if (!rows[0]!.locked) return null;
    try {
      const done: RetentionSweep = { bulks: 0, operations: 0, jobs: 0, transactions: 0, longestTransactionMs: 0 };
      const timed = async <T>(statement: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        try {
          return await statement();
        } finally {
          done.transactions++;
          done.longestTransactionMs = Math.max(done.longestTransactionMs, performance.now() - started);
        }
      };
      const deleteBulks = async (uuids: string[]) => {
        if (!uuids.length) return;
        const deleted = await timed(() => client.query<{ operation_count: number }>(sql.deleteBulks(schema), [uuids]));
        done.bulks += deleted.rowCount ?? 0;
        for (const r of deleted.rows) done.operations += r.operation_count;
      };

      const now = (options.now ?? systemClock)();
      const cutoff = utcTimestamp(new Date(now.getTime() - options.bulkDays * 86_400_000));
      let after: [string, string] = ['-infinity', '0'];
      for (;;) {
        const page = await client.query<{
          uuid: string;
          operation_count: number;
          finished: boolean;
          start_time: string;
          id: string;
        }>(sql.selectExpiredBulks(schema), [cutoff, ...after, PAGE]);
        const last = page.rows.at(-1);
        if (!last) break;
        after = [last.start_time, last.id];
        let group: string[] = [];
        let groupOperations = 0;
        for (const bulk of page.rows) {
          if (!bulk.finished) continue;
          if (bulk.operation_count > batchOperations) {
            // Too big for one transaction: its operations in slices, then its row.
            for (let from = 0; from < bulk.operation_count; from += batchOperations) {
              await timed(() =>
                client.query(sql.deleteOperationSlice(schema), [bulk.uuid, from, from + batchOperations]),
              );
            }
            await deleteBulks([bulk.uuid]);
            continue;
          }
          if (groupOperations + bulk.operation_count > batchOperations) {
            await deleteBulks(group);
            group = [];
            groupOperations = 0;
          }
          group.push(bulk.uuid);
          groupOperations += bulk.operation_count;
        }
        await deleteBulks(group);
        if (page.rows.length < PAGE) break;
      }
      // Jobs of bulks deleted now or by a sweep that stopped before this step (pg-boss deletes
      // completed jobs itself after a week, but keeps queued ones, dead letters among them).
      if (done.bulks > 0) done.jobs = await deleteJobsOfDeletedBulks(options, client, timed);
      return done;
    } finally {
      await client.query(sql.releaseRetentionLock, [lockName]).catch(() => (keepsLock = true));
    }
  } finally {
    // A connection that may still hold the lock is closed, not pooled: its session and the lock end.
    client.release(keepsLock);
  }
}

/** Walks our queues' jobs in pages along pg-boss's key and deletes, through pg-boss, those whose bulk is gone. */
async function deleteJobsOfDeletedBulks(
  options: BulkRetentionOptions,
  client: pg.PoolClient,
  timed: <T>(statement: () => Promise<T>) => Promise<T>,
): Promise<number> {
  const { rows: queues } = await client.query<{ name: string }>(sql.selectOurQueues(options.bossSchema));
  let deleted = 0;
  for (const { name } of queues) {
    let after = NIL_UUID;
    for (;;) {
      const { rows } = await client.query<{ id: string; orphan: boolean }>(
        sql.selectOrphanJobs(options.schema, options.bossSchema),
        [name, after, options.batchOperations],
      );
      if (!rows.length) break;
      after = rows.at(-1)!.id;
      const orphans = rows.filter((r) => r.orphan).map((r) => r.id);
      if (orphans.length) {
        // pg-boss's delete keeps its queue counts right; its typings leave the response shape out.
        const response = (await timed(() => options.boss.deleteJob(name, orphans))) as { affected?: number };
        deleted += response.affected ?? 0;
      }
      if (rows.length < options.batchOperations) break;
    }
  }
  return deleted;
}

/** Sweeps every `intervalSeconds`; returns the stop function. */
export function startBulkRetention(options: BulkRetentionOptions & { intervalSeconds: number }): () => Promise<void> {
  const timer = every(options.intervalSeconds * 1000, () =>
    sweepExpiredBulks(options).then(
      (swept) => {
        if (swept && swept.bulks > 0) options.log.info({ ...swept }, 'expired bulks deleted');
      },
      (err: unknown) => options.log.warn({ err }, 'bulk retention sweep failed'),
    ),
  );
  return () => timer.stop();
}
