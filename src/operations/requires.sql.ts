/**
 * The SQL of operations that wait for what they reference (see requires.ts). A waiter's edges
 * (`operation_wait`, 050_requires.sql) name each unfinished provider of a key it requires: an
 * operation of that entity key in `operation_order`, which holds exactly the unfinished ones.
 */
import { ident, schemaIdent } from '../db/pool.ts';
import { DB_SECOND } from '../db/sql/seconds.ts';
import { ATTEMPT_HOLDS, HELD } from './claims.sql.ts';
import { finalSql as FINAL, unfinishedSql as UNFINISHED } from './finished.ts';

/**
 * Serialises the looks of every consumer (one transaction-scoped advisory lock per schema), so two
 * operations that start waiting for each other at once see each other's wait: the later one finds
 * the cycle. $1 the schema's name. Its own statement, so the looks after it see the earlier commit.
 */
export const LOCK_LOOKS = `SELECT pg_advisory_xact_lock(hashtextextended('magento-async:requires:' || $1::text, 0))`;

/**
 * Which of these claimed operations are final already: failed by another look (a cycle's other
 * members, `failWaiting`) or by a trigger after their delivery's claim read them unfinished. Looks
 * are serialised, so one failed by a look is seen here; such an operation does not run (its wait
 * edges went with its failure, so nothing else would stop it). $1 uuid[], $2 int[].
 */
export function finalAmong(schema: string): string {
  return `SELECT o.bulk_uuid, o.operation_key FROM ${ident(schema)}.operation o
    JOIN unnest($1::uuid[], $2::int[]) AS w(bulk_uuid, operation_key)
      ON o.bulk_uuid = w.bulk_uuid AND o.operation_key = w.operation_key
    WHERE ${FINAL('o')}`;
}

/**
 * The final, not complete, providers the waiters waited for: they fail naming one.
 * $1 uuid[], $2 int[] waiters.
 */
export function failedProviders(schema: string): string {
  const s = ident(schema);
  return `SELECT DISTINCT ON (e.bulk_uuid, e.operation_key) e.bulk_uuid, e.operation_key, e.need,
      p.bulk_uuid AS on_bulk, p.operation_key AS on_key, p.topic_name, p.result_message
    FROM unnest($1::uuid[], $2::int[]) AS w(bulk_uuid, operation_key)
    JOIN ${s}.operation_wait e ON e.bulk_uuid = w.bulk_uuid AND e.operation_key = w.operation_key
    JOIN ${s}.operation p ON p.bulk_uuid = e.on_bulk AND p.operation_key = e.on_key
    WHERE p.status <> 1 AND ${FINAL('p')}
    ORDER BY e.bulk_uuid, e.operation_key, p.bulk_uuid, p.operation_key`;
}

/**
 * Forgets the waiters' edges (each look writes them anew), returning when each first waited.
 * $1 uuid[], $2 int[] waiters.
 */
export function clearWaits(schema: string): string {
  return `WITH gone AS (
      DELETE FROM ${ident(schema)}.operation_wait e USING unnest($1::uuid[], $2::int[]) AS w(bulk_uuid, operation_key)
      WHERE e.bulk_uuid = w.bulk_uuid AND e.operation_key = w.operation_key
      RETURNING e.bulk_uuid, e.operation_key, e.since)
    SELECT bulk_uuid, operation_key, min(since) AS since FROM gone GROUP BY bulk_uuid, operation_key`;
}

/**
 * Records each waiter's wait for every unfinished provider of a key it requires (not of its own key)
 * and returns them, with how long the waiter has waited (seconds, from `since`, else now).
 * $1 uuid[], $2 int[] waiters, $3 text[] required keys (one row per key), $4 timestamptz[] since.
 */
export function recordWaits(schema: string): string {
  const s = ident(schema);
  return `INSERT INTO ${s}.operation_wait AS e (bulk_uuid, operation_key, need, on_bulk, on_key, since)
    SELECT n.bulk_uuid, n.operation_key, n.need, q.bulk_uuid, q.operation_key, coalesce(n.since, now())
    FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[]) AS n(bulk_uuid, operation_key, need, since)
    JOIN ${s}.operation_order q ON q.order_key = n.need
    WHERE (q.bulk_uuid, q.operation_key) <> (n.bulk_uuid, n.operation_key)
      -- Its own key: the key's order already runs the earlier ones first, and waiting for a later
      -- one (which waits behind it) would never end.
      AND NOT EXISTS (SELECT 1 FROM ${s}.operation_order me
        WHERE me.bulk_uuid = n.bulk_uuid AND me.operation_key = n.operation_key AND me.order_key = n.need)
    ON CONFLICT DO NOTHING
    RETURNING e.bulk_uuid, e.operation_key, e.need, e.on_bulk, e.on_key,
      extract(epoch FROM now() - e.since)::float8 AS waited`;
}

/**
 * Every wait reachable from each of these waiters through unfinished providers: the graph in
 * which a cycle through a waiter is looked for. $1 uuid[], $2 int[] the waiters.
 */
export function reachableWaits(schema: string): string {
  const s = ident(schema);
  return `WITH RECURSIVE reach(start_bulk, start_key, bulk_uuid, operation_key) AS (
      SELECT b, k, b, k FROM unnest($1::uuid[], $2::int[]) AS w(b, k)
      UNION
      SELECT r.start_bulk, r.start_key, e.on_bulk, e.on_key
      FROM reach r JOIN ${s}.operation_wait e ON e.bulk_uuid = r.bulk_uuid AND e.operation_key = r.operation_key
      JOIN ${s}.operation p ON p.bulk_uuid = e.on_bulk AND p.operation_key = e.on_key AND ${UNFINISHED('p')})
    SELECT r.start_bulk, r.start_key, e.bulk_uuid, e.operation_key, e.need, e.on_bulk, e.on_key
    FROM reach r JOIN ${s}.operation_wait e ON e.bulk_uuid = r.bulk_uuid AND e.operation_key = r.operation_key
    JOIN ${s}.operation p ON p.bulk_uuid = e.on_bulk AND p.operation_key = e.on_key AND ${UNFINISHED('p')}`;
}

/**
 * Fails waiting operations no worker holds (the other members of a cycle), each with its message.
 * $1 uuid[], $2 int[], $3 text[] messages. Returns the ones failed.
 */
export function failWaiting(schema: string, bossSchema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 3, will_retry = false, result_message = f.message, finished_at = ${DB_SECOND}
    FROM unnest($1::uuid[], $2::int[], $3::text[]) AS f(bulk_uuid, operation_key, message)
    WHERE o.bulk_uuid = f.bulk_uuid AND o.operation_key = f.operation_key AND ${UNFINISHED('o')}
      AND NOT ${HELD(bossSchema, 'o')}
    RETURNING o.bulk_uuid, o.operation_key`;
}

/**
 * What a look decided for operations this worker holds, fenced by its claim (the delivery's
 * attempt `id:retry_count` in its queue): `fail` ends one (status 3, its message); otherwise its
 * message says what it waits for (null: nothing). $1 uuid[], $2 int[], $3 text[] attempts, $4
 * bool[] fail, $5 text[] messages, $6 text[] queues.
 */
export function settleLooks(schema: string, bossSchema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = CASE WHEN g.fail THEN 3 ELSE o.status END,
      will_retry = CASE WHEN g.fail THEN false ELSE o.will_retry END,
      finished_at = CASE WHEN g.fail THEN ${DB_SECOND} ELSE o.finished_at END,
      result_message = g.message
    FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bool[], $5::text[], $6::text[])
      AS g(bulk_uuid, operation_key, token, fail, message, queue)
    WHERE o.bulk_uuid = g.bulk_uuid AND o.operation_key = g.operation_key
      AND ${UNFINISHED('o')} AND ${ATTEMPT_HOLDS(bossSchema, 'g.queue', 'g.token')}`;
}

/**
 * Names the put-off jobs of waiters on their waits, so each provider's outcome makes them runnable
 * (see {@link dependantJobs}). Like put-off's naming behind a key (put-off.sql.ts), the providers
 * are locked (FOR SHARE SKIP LOCKED) so an outcome being recorded cannot slip between the look and
 * the naming: `waiting` (named, a provider locked), `free` (a provider finished since the look:
 * look again now) or `skipped` (all being recorded). $1 uuid[], $2 int[], $3 uuid[] jobs, $4 queue.
 */
export function nameDependantJobs(schema: string): string {
  const s = ident(schema);
  return `WITH w AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[]) AS w(bulk_uuid, operation_key, job)),
    named AS (
      UPDATE ${s}.operation_wait e SET job = w.job, queue = $4::text
      FROM w WHERE e.bulk_uuid = w.bulk_uuid AND e.operation_key = w.operation_key
      RETURNING w.job, e.on_bulk, e.on_key),
    locked AS (
      SELECT p.bulk_uuid, p.operation_key FROM ${s}.operation p
      WHERE (p.bulk_uuid, p.operation_key) IN (SELECT on_bulk, on_key FROM named) AND ${UNFINISHED('p')}
      FOR SHARE SKIP LOCKED)
    SELECT w.job::text AS job,
      CASE WHEN EXISTS (SELECT 1 FROM named n JOIN ${s}.operation p ON p.bulk_uuid = n.on_bulk AND p.operation_key = n.on_key
          WHERE n.job = w.job AND ${FINAL('p')}) THEN 'free'
        WHEN EXISTS (SELECT 1 FROM named n JOIN locked l ON l.bulk_uuid = n.on_bulk AND l.operation_key = n.on_key
          WHERE n.job = w.job) THEN 'waiting'
        WHEN NOT EXISTS (SELECT 1 FROM named n WHERE n.job = w.job) THEN 'free'
        ELSE 'skipped' END AS waiting
    FROM w`;
}

/**
 * Makes the put-off jobs of waiters runnable now when one of their providers (these operations)
 * is final: they look again. $1 uuid[], $2 int[] the operations. Returns the queues woken.
 */
export function dependantJobs(schema: string, bossSchema: string): string {
  const s = ident(schema);
  const b = schemaIdent(bossSchema);
  return `WITH due AS (
      SELECT DISTINCT e.queue, e.job FROM ${s}.operation_wait e
      JOIN unnest($1::uuid[], $2::int[]) AS f(bulk_uuid, operation_key) ON e.on_bulk = f.bulk_uuid AND e.on_key = f.operation_key
      JOIN ${s}.operation p ON p.bulk_uuid = e.on_bulk AND p.operation_key = e.on_key
      WHERE e.job IS NOT NULL AND ${FINAL('p')})
    UPDATE ${b}.job j SET start_after = ${b}.job_now()
    FROM due WHERE j.name = due.queue AND j.id = due.job AND j.state = 'created' AND j.start_after > ${b}.job_now()
    RETURNING j.name`;
}

/** How many open operations wait for another right now (metrics). */
export function waitingCount(schema: string): string {
  const s = ident(schema);
  return `SELECT count(*)::int AS waiting FROM ${s}.operation o
    WHERE (o.bulk_uuid, o.operation_key) IN (SELECT bulk_uuid, operation_key FROM ${s}.operation_wait)
      AND ${UNFINISHED('o')}`;
}
