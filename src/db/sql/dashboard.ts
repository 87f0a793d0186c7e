/**
 * SQL of the status API's operator endpoints (the dashboard's bulk list), as functions of the
 * schema. Every request value is a bind parameter.
 */
import { selectBulksWithCounters } from './status.ts';

/**
 * Newest bulks first, with their counters (the summary shape of selectBulksWithCounters). Filters,
 * each NULL for "any": $1 user_type, $2 user_id, $3 from (timestamp, UTC), $4 to (exclusive),
 * $5 text found in the description or starting the uuid; $6 limit.
 */
export function listBulks(schema: string): string {
  return `${selectBulksWithCounters(schema)}
    WHERE ($1::smallint IS NULL OR b.user_type = $1) AND ($2::int IS NULL OR b.user_id = $2)
      AND ($3::timestamp IS NULL OR b.start_time >= $3) AND ($4::timestamp IS NULL OR b.start_time < $4)
      AND ($5::text IS NULL OR strpos(lower(coalesce(b.description, '')), lower($5)) > 0
        OR b.uuid::text LIKE lower($5) || '%')
    ORDER BY b.start_time DESC, b.id DESC LIMIT $6`;
}
