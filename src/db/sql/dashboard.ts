/**
 * SQL of the status API's operator endpoints (the dashboard's bulk list), as functions of the
 * schema. Every request value is a bind parameter.
 */
import { ident } from '../pool.ts';

/**
 * Newest bulks first, with their counters (the same per-bulk sum as selectBulkSummary). Filters,
 * each NULL for "any": $1 user_type, $2 user_id, $3 from (timestamp, UTC), $4 to (exclusive),
 * $5 text found in the description or starting the uuid; $6 limit.
 */
export function listBulks(schema: string): string {
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
      FROM ${s}.bulk_counter k WHERE k.bulk_uuid = b.uuid) c
    WHERE ($1::smallint IS NULL OR b.user_type = $1) AND ($2::int IS NULL OR b.user_id = $2)
      AND ($3::timestamp IS NULL OR b.start_time >= $3) AND ($4::timestamp IS NULL OR b.start_time < $4)
      AND ($5::text IS NULL OR strpos(lower(coalesce(b.description, '')), lower($5)) > 0
        OR b.uuid::text LIKE lower($5) || '%')
    ORDER BY b.start_time DESC, b.id DESC LIMIT $6`;
}
