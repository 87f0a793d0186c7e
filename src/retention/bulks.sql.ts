/**
 * The SQL of bulk retention (src/retention/bulks.ts), pure functions of the schema names.
 * Which bulk is finished is src/operations/finished.ts's one definition.
 */
import { ident } from '../db/pool.ts';
import { bulkFinishedSql } from '../operations/finished.ts';

/** One server sweeps at a time: a session advisory lock per schema, let go when the sweep ends (or its connection dies). */
export const tryRetentionLock = `SELECT pg_try_advisory_lock(hashtext($1)) AS locked`;
export const releaseRetentionLock = `SELECT pg_advisory_unlock(hashtext($1))`;
export const retentionLockName = (schema: string): string => `magento-async:${schema}:retention`;

const finished = (s: string, b: string) =>
  `EXISTS (SELECT 1 FROM ${s}.bulk_counter c WHERE c.bulk_uuid = ${b}.uuid HAVING ${bulkFinishedSql('c')})`;

/**
 * Finished bulks started at or before $1 (a UTC timestamp, as `start_time` is stored), oldest
 * first, after the position ($2 start_time, $3 id) the previous page ended on, at most $4. Paging
 * by position keeps old unfinished bulks from being read again on every page; `last_*` is where
 * this page ended, finished or not.
 */
export function selectExpiredBulks(schema: string): string {
  const s = ident(schema);
  return `WITH page AS (
      SELECT b.id, b.uuid, b.start_time, b.operation_count FROM ${s}.bulk b
      WHERE b.start_time <= $1::timestamp AND (b.start_time, b.id) > ($2::timestamp, $3::bigint)
      ORDER BY b.start_time, b.id LIMIT $4)
    SELECT p.uuid::text AS uuid, p.operation_count, ${finished(s, 'p')} AS finished,
      to_char(p.start_time, 'YYYY-MM-DD HH24:MI:SS') AS start_time, p.id::text AS id
    FROM page p ORDER BY p.start_time, p.id`;
}

/**
 * Deletes the bulks $1 that are still finished (the retry API may have reopened one since it was
 * read); operations, counters, ordering rows, idempotency keys, webhooks and their deliveries go by
 * cascade. Returns what it deleted.
 */
export function deleteBulks(schema: string): string {
  const s = ident(schema);
  return `DELETE FROM ${s}.bulk b WHERE b.uuid = ANY($1::uuid[]) AND ${finished(s, 'b')}
    RETURNING b.uuid::text AS uuid, b.operation_count`;
}

/**
 * One slice of a bulk too big for one transaction: its operations with keys in [$2, $3). The bulk
 * row goes last, so a sweep that stops half way resumes on the same bulk.
 */
export function deleteOperationSlice(schema: string): string {
  return `DELETE FROM ${ident(schema)}.operation WHERE bulk_uuid = $1 AND operation_key >= $2 AND operation_key < $3`;
}

/** Our queues in pg-boss (names `async.*`). */
export function selectOurQueues(bossSchema: string): string {
  return `SELECT name FROM ${ident(bossSchema)}.queue WHERE name LIKE 'async.%' ORDER BY name`;
}

/**
 * A page of queue $1's jobs after id $2 (at most $3, in id order, along pg-boss's primary key), each
 * with whether it belongs to a bulk that no longer exists. A job is written in the transaction
 * that writes its bulk, so a visible job of a missing bulk is one whose bulk was deleted.
 * Reads pg-boss's `job` table (`name`, `id`, `data`).
 */
export function selectOrphanJobs(schema: string, bossSchema: string): string {
  return `SELECT j.id::text AS id, (j.data ? 'bulk' AND NOT EXISTS (
        SELECT 1 FROM ${ident(schema)}.bulk b WHERE b.uuid = (j.data->>'bulk')::uuid)) AS orphan
    FROM ${ident(bossSchema)}.job j WHERE j.name = $1 AND j.id > $2::uuid ORDER BY j.id LIMIT $3`;
}
