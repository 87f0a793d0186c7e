/**
 * SQL of the bulk status API (source notes §6), as pure functions of the schema name. Every value
 * that comes from a request is a bind parameter; only the schema (configuration) and the column
 * expressions of a whitelist (src/status/search-criteria.ts) are ever part of the text.
 */
import { ident } from '../pool.ts';

/** Columns of {@link selectBulkSummary}. */
export interface BulkSummaryRow {
  bulk_id: string;
  user_type: number | null;
  user_id: number | null;
  description: string | null;
  start_time: string;
  operation_count: number;
  complete: number;
  retriable: number;
  failed: number;
  open: number;
  rejected: number;
  retrying: number;
  /** An open operation has been picked up by a worker (only looked for when nothing finished yet). */
  running: boolean;
}

/**
 * The bulk and its counters, O(1) in the size of the bulk: the counters are the SUM of at most 8
 * shard rows of `bulk_counter`. `running` ("in progress" rather than "not started") is true once
 * any operation has been processed: workers record `started_at` together with the outcome, so
 * counters alone decide it and no operation row is read. $1 uuid.
 */
export function selectBulkSummary(schema: string): string {
  return `${selectBulksWithCounters(schema)}
    WHERE b.uuid = $1`;
}

/**
 * Bulk rows (alias `b`) with their counters summed over the shard rows, without a WHERE: the one
 * summary shape that the status API and the dashboard's list both read.
 */
export function selectBulksWithCounters(schema: string): string {
  const s = ident(schema);
  return `SELECT b.uuid::text AS bulk_id, b.user_type, b.user_id, b.description,
      to_char(b.start_time, 'YYYY-MM-DD HH24:MI:SS') AS start_time, b.operation_count,
      c.complete, c.retriable, c.failed, c.open, c.rejected, c.retrying,
      c.complete + c.retriable + c.failed > 0 AS running
    FROM ${s}.bulk b
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(k.complete), 0)::int AS complete, coalesce(sum(k.retriable), 0)::int AS retriable,
        coalesce(sum(k.failed), 0)::int AS failed, coalesce(sum(k.open), 0)::int AS open,
        coalesce(sum(k.rejected), 0)::int AS rejected, coalesce(sum(k.retrying), 0)::int AS retrying
      FROM ${s}.bulk_counter k WHERE k.bulk_uuid = b.uuid) c`;
}

/**
 * Registers a long-poll waiter so the update trigger checks this bulk for completion (it checks
 * only bulks someone waits for); also drops waiters a crashed server left behind. $1 uuid, $2
 * seconds after which a waiter row is stale. Returns the row id.
 */
export function registerWaiter(schema: string): string {
  const s = ident(schema);
  return `WITH stale AS (DELETE FROM ${s}.bulk_waiter WHERE since < now() - make_interval(secs => $2))
    INSERT INTO ${s}.bulk_waiter (bulk_uuid) VALUES ($1) RETURNING id`;
}

/** $1 waiter id. */
export function unregisterWaiter(schema: string): string {
  return `DELETE FROM ${ident(schema)}.bulk_waiter WHERE id = $1`;
}

/** Owner of a bulk, for the ownership rule. $1 uuid. */
export function selectBulkOwner(schema: string): string {
  return `SELECT user_type, user_id FROM ${ident(schema)}.bulk WHERE uuid = $1`;
}

/** Short-status items, in index order (Magento: DB order). $1 uuid. */
export function selectShortOperations(schema: string): string {
  return `SELECT operation_key AS id, status, result_message, error_code
    FROM ${ident(schema)}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`;
}

/** Detailed-status items, in index order. $1 uuid. */
export function selectDetailedOperations(schema: string): string {
  return `SELECT operation_key AS id, bulk_uuid::text AS bulk_uuid, topic_name, serialized_data,
      result_serialized_data, status, result_message, error_code
    FROM ${ident(schema)}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`;
}

/**
 * Magento's COUNT(*) of a bulk's operations in one status, read from the counters (which count
 * exactly the operation rows, so a bulk with no rows answers 0 as Magento does). $1 uuid, $2 status.
 */
export function countOperationsByStatus(schema: string): string {
  return `SELECT coalesce(sum(CASE $2::int WHEN 1 THEN complete WHEN 2 THEN retriable WHEN 3 THEN failed
      WHEN 4 THEN open WHEN 5 THEN rejected END), 0)::int AS n
    FROM ${ident(schema)}.bulk_counter WHERE bulk_uuid = $1`;
}

/**
 * One batch of results.ndjson by keyset on the primary key (bulk_uuid, operation_key): each batch
 * is an index range scan, so memory and per-batch time stay bounded however big the bulk is.
 * $1 uuid, $2 last key seen (-1 to start), $3 batch size.
 */
export function selectResultsBatch(schema: string): string {
  return `SELECT operation_key AS id, status, result_serialized_data, result_message, error_code
    FROM ${ident(schema)}.operation
    WHERE bulk_uuid = $1 AND operation_key > $2 ORDER BY operation_key LIMIT $3`;
}

// The retry and cancel API's statements are lifecycle rules: they live with the others.
export { reopenOperations } from '../../operations/reopen.sql.ts';

/** Locks the bulk row so concurrent retry/cancel calls of one bulk run one after the other. $1 uuid. */
export function lockBulk(schema: string): string {
  return `SELECT user_type, user_id FROM ${ident(schema)}.bulk WHERE uuid = $1 FOR UPDATE`;
}

/**
 * GET /V1/bulk items. `where` and `orderBy` are built from a whitelist of column expressions with
 * `$n` placeholders only; `$limit`/`$offset` are the two parameters after the filters'.
 */
export function searchOperations(
  schema: string,
  where: string,
  orderBy: string,
  limitParam: number,
  offsetParam: number,
): string {
  const s = ident(schema);
  return `SELECT o.operation_key AS id, o.bulk_uuid::text AS bulk_uuid, o.topic_name, o.serialized_data,
      o.result_serialized_data, o.status, o.result_message, o.error_code,
      to_char(b.start_time, 'YYYY-MM-DD HH24:MI:SS') AS start_time
    FROM ${s}.operation o JOIN ${s}.bulk b ON b.uuid = o.bulk_uuid
    WHERE ${where}
    ORDER BY ${orderBy}
    LIMIT $${limitParam} OFFSET $${offsetParam}`;
}

/** total_count of a search (same WHERE as {@link searchOperations}). */
export function countSearchOperations(schema: string, where: string): string {
  const s = ident(schema);
  return `SELECT count(*)::int AS n FROM ${s}.operation o JOIN ${s}.bulk b ON b.uuid = o.bulk_uuid WHERE ${where}`;
}
