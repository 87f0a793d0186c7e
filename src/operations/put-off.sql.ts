/** The SQL of put-off deliveries waiting behind an earlier operation of their key (see put-off.ts). */
import { ident } from '../db/pool.ts';
import { unfinishedSql as UNFINISHED } from './finished.ts';

/** What became of a put-off delivery's wish to be woken by the operation it waits behind. */
export type Waiting =
  /** Named on its key's unfinished predecessor: woken when that is final. */
  | 'waiting'
  /** No unfinished predecessor any more (it finished since the claim): may run now. */
  | 'free'
  /** The predecessor's row is locked (being recorded right now, or named by another put-off). */
  | 'skipped';

/**
 * Names the new jobs of put-off deliveries on the operation each waits behind (the nearest earlier
 * row of its key in `operation_order`), so that operation's outcome makes them runnable at once.
 * SKIP LOCKED, so a put-off never waits on a worker recording an outcome (nor two on each other):
 * holding the predecessor's row until commit, a recorder's outcome UPDATE waits for this
 * transaction and its wake then sees the job; one that locked first is seen finished ('free') by a
 * later put-off's fresh statement. $1 uuid[], $2 int[] keys, $3 uuid[] new job ids.
 */
export function nameWaitingJobs(schema: string): string {
  const s = ident(schema);
  return `WITH w AS (
      SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[]) AS w(bulk_uuid, operation_key, job)),
    pred AS (
      SELECT w.job, p.bulk_uuid, p.operation_key
      FROM w JOIN ${s}.operation_order me ON me.bulk_uuid = w.bulk_uuid AND me.operation_key = w.operation_key
      CROSS JOIN LATERAL (SELECT b.bulk_uuid, b.operation_key FROM ${s}.operation_order b
        WHERE b.order_key = me.order_key AND b.seq < me.seq ORDER BY b.seq DESC LIMIT 1) p),
    locked AS (
      SELECT o.bulk_uuid, o.operation_key FROM ${s}.operation o
      WHERE (o.bulk_uuid, o.operation_key) IN (SELECT bulk_uuid, operation_key FROM pred) AND ${UNFINISHED('o')}
      FOR UPDATE SKIP LOCKED),
    named AS (
      UPDATE ${s}.operation o
      SET waiting_jobs = coalesce(o.waiting_jobs, '{}') || ARRAY(SELECT p.job FROM pred p
        WHERE p.bulk_uuid = o.bulk_uuid AND p.operation_key = o.operation_key)
      FROM locked l WHERE o.bulk_uuid = l.bulk_uuid AND o.operation_key = l.operation_key
      RETURNING o.bulk_uuid, o.operation_key)
    SELECT w.job::text AS job,
      CASE WHEN n.bulk_uuid IS NOT NULL THEN 'waiting'
        WHEN p.job IS NULL OR NOT EXISTS (SELECT 1 FROM ${s}.operation o
          WHERE o.bulk_uuid = p.bulk_uuid AND o.operation_key = p.operation_key AND ${UNFINISHED('o')}) THEN 'free'
        ELSE 'skipped' END AS waiting
    FROM w LEFT JOIN pred p ON p.job = w.job
    LEFT JOIN named n ON n.bulk_uuid = p.bulk_uuid AND n.operation_key = p.operation_key`;
}

/**
 * The jobs waiting behind these operations that are now final (see {@link nameWaitingJobs}), as a
 * CTE body with one column `id` (uuid). $1 uuid[], $2 int[] keys.
 */
export function waitingJobsOf(schema: string): string {
  return `SELECT DISTINCT unnest(o.waiting_jobs) AS id FROM ${ident(schema)}.operation o
    JOIN unnest($1::uuid[], $2::int[]) AS f(bulk_uuid, operation_key)
      ON o.bulk_uuid = f.bulk_uuid AND o.operation_key = f.operation_key
    WHERE o.waiting_jobs IS NOT NULL AND NOT ${UNFINISHED('o')}`;
}
