/** The SQL of the sweeper and of closing dead-lettered operations (see sweep.ts). */
import { ident } from '../db/pool.ts';
import { LEASE_FREE } from './claims.sql.ts';
import { bulkUnfinishedSql, unfinishedSql as UNFINISHED } from './finished.ts';

/**
 * Closes operations whose job ran out of deliveries while they were unfinished and unclaimed
 * (every delivery's worker died): status 2 like Magento's cron for stuck operations, with no
 * automatic retry left, so the retry API can reopen them. $1 uuid[], $2 int[] keys, $3 message.
 */
export function closeAbandonedOperations(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 2, will_retry = false, error_code = 0, result_message = $3,
      finished_at = (now() AT TIME ZONE 'UTC')
    FROM unnest($1::uuid[], $2::int[]) AS j(bulk_uuid, operation_key)
    WHERE o.bulk_uuid = j.bulk_uuid AND o.operation_key = j.operation_key
      AND ${UNFINISHED('o')} AND ${LEASE_FREE('o')}`;
}

/**
 * The sweeper's look for unfinished, unclaimed operations with no live job in pg-boss's job table
 * (deleted by retention or by hand): only bulks whose counters show something unfinished are read.
 * Reads pg-boss's `job` table (name, state, data), pinned by test/operations/lifecycle.test.ts.
 * $1 text[] queue names, $2 limit.
 */
export function selectOrphans(schema: string, bossSchema: string): string {
  const s = ident(schema);
  return `WITH unfinished AS (
      SELECT c.bulk_uuid FROM ${s}.bulk_counter c GROUP BY c.bulk_uuid HAVING ${bulkUnfinishedSql('c')})
    SELECT o.bulk_uuid::text AS bulk_uuid, o.operation_key, o.operation_id,
      CASE WHEN o.will_retry AND o.retry_at > now() THEN o.retry_at END AS due
    FROM unfinished u JOIN ${s}.operation o ON o.bulk_uuid = u.bulk_uuid
    WHERE ${UNFINISHED('o')} AND ${LEASE_FREE('o')}
      AND NOT EXISTS (SELECT 1 FROM ${ident(bossSchema)}.job j
        WHERE j.name = ANY($1::text[]) AND j.state < 'completed'
          AND j.data->>'bulk' = o.bulk_uuid::text AND j.data->>'key' = o.operation_key::text)
    LIMIT $2`;
}

/**
 * One sweeper at a time, however many consumers run: a transaction-level advisory lock named for
 * the schema. Returns whether this transaction holds it. $1 text, the schema's name.
 */
export const trySweepLock = `SELECT pg_try_advisory_xact_lock(hashtext('magento-async:sweep:' || $1)) AS locked`;
