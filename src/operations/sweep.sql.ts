/** The SQL of the sweeper and of closing dead-lettered operations (see sweep.ts). */
import { ident } from '../db/pool.ts';
import { DB_SECOND } from '../db/sql/seconds.ts';
import { HELD, jobsOf } from './claims.sql.ts';
import { unfinishedSql as UNFINISHED } from './finished.ts';

/**
 * Closes operations whose job ran out of deliveries while they were unfinished and unclaimed
 * (every delivery's worker died): status 2 like Magento's cron for stuck operations, with no
 * automatic retry left, so the retry API can reopen them. $1 uuid[], $2 int[] keys, $3 message.
 */
export function closeAbandonedOperations(schema: string, bossSchema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 2, will_retry = false, error_code = 0, result_message = $3,
      finished_at = ${DB_SECOND}
    FROM unnest($1::uuid[], $2::int[]) AS j(bulk_uuid, operation_key)
    WHERE o.bulk_uuid = j.bulk_uuid AND o.operation_key = j.operation_key
      AND ${UNFINISHED('o')} AND NOT ${HELD(bossSchema, 'o')}`;
}

/**
 * One window of the sweeper's look for unfinished operations with no live job in pg-boss's job table
 * (deleted by retention or by hand): the next `$3` operations after ($1 bulk, $2 key) in primary-key
 * order, whatever their state, each unfinished one probing `job_operation` for a live job (a held
 * operation has one, active). So a look costs at most `$3` index entries and probes however many
 * operations are open or kept, and the sweeper walks the table window by window. Returns the
 * window's last address (`last_bulk`, `last_key`; no row: the window was empty) with each orphan
 * found (its columns null when none). Reads pg-boss's `job` table (name, state, data), pinned by
 * test/operations/lifecycle.test.ts.
 */
export function selectOrphans(schema: string, bossSchema: string): string {
  const s = ident(schema);
  return `WITH win AS MATERIALIZED (
      SELECT o.bulk_uuid, o.operation_key, o.operation_id, o.status, o.will_retry, o.retry_at FROM ${s}.operation o
      WHERE (o.bulk_uuid, o.operation_key) > ($1::uuid, $2::int)
      ORDER BY o.bulk_uuid, o.operation_key LIMIT $3),
    last AS (SELECT bulk_uuid, operation_key FROM win ORDER BY bulk_uuid DESC, operation_key DESC LIMIT 1)
    SELECT l.bulk_uuid::text AS last_bulk, l.operation_key AS last_key, (SELECT count(*)::int FROM win) AS looked,
      x.bulk_uuid, x.operation_key, x.operation_id, x.due
    FROM last l LEFT JOIN LATERAL (
      SELECT o.bulk_uuid::text AS bulk_uuid, o.operation_key, o.operation_id,
        CASE WHEN o.will_retry AND o.retry_at > now() THEN o.retry_at END AS due
      FROM win o
      WHERE ${UNFINISHED('o')} AND NOT EXISTS (SELECT 1 FROM ${jobsOf(bossSchema, 'o', `<= 'active'`)})) x ON true`;
}

/**
 * One sweeper at a time, however many consumers run: a transaction-level advisory lock named for
 * the schema. Returns whether this transaction holds it. $1 text, the schema's name.
 */
export const trySweepLock = `SELECT pg_try_advisory_xact_lock(hashtext('magento-async:sweep:' || $1)) AS locked`;
