/** The SQL of the cancel API and of finishing what it flagged (see cancel.ts). */
import { ident } from '../db/pool.ts';
import { DB_SECOND } from '../db/sql/seconds.ts';
import { HELD, jobsOf } from './claims.sql.ts';
import { unfinishedSql as UNFINISHED } from './finished.ts';

/**
 * Finishes operations the cancel API flagged while a worker held them, once no worker does (the
 * finishing worker's own delivery aside). $1 uuid[], $2 int[] keys, $3 message, $4 uuid[] the
 * deliveries that finish them.
 */
export function finishCanceled(schema: string, bossSchema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 3, will_retry = false, result_message = $3, finished_at = ${DB_SECOND}
    FROM unnest($1::uuid[], $2::int[], $4::uuid[]) AS f(bulk_uuid, operation_key, job)
    WHERE o.bulk_uuid = f.bulk_uuid AND o.operation_key = f.operation_key
      AND o.canceled AND ${UNFINISHED('o')} AND NOT ${HELD(bossSchema, 'o', 'f.job')}`;
}

/**
 * The locks the cancel API takes first, in its transaction, each a statement of its own: the bulk's
 * unfinished operations in key order (the order every writer of outcomes locks them in), then
 * their live jobs. A fetch delivering one of those jobs either committed before (its job is then
 * active, and the cancel sees it held) or skips it (pg-boss fetches SKIP LOCKED) and finds the
 * operation final afterwards. $1 uuid.
 */
export function cancelLocks(schema: string, bossSchema: string): [string, string] {
  const s = ident(schema);
  return [
    `SELECT 1 FROM ${s}.operation o WHERE o.bulk_uuid = $1 AND ${UNFINISHED('o')} AND NOT o.canceled
      ORDER BY o.operation_key FOR NO KEY UPDATE`,
    `SELECT 1 FROM ${s}.operation o, LATERAL (SELECT j.id FROM ${jobsOf(bossSchema, 'o', `<= 'active'`)}
        FOR NO KEY UPDATE OF j) held
      WHERE o.bulk_uuid = $1 AND ${UNFINISHED('o')} AND NOT o.canceled`,
  ];
}

/**
 * The cancel API: every unfinished operation of the bulk, retries included, is canceled. One no
 * worker holds becomes status 3 `Canceled` at once and never runs; one a worker is running keeps
 * its status, flagged, so the bulk is not reported finished while it runs: it finishes with its
 * real outcome and is never retried. Run after {@link cancelLocks}. $1 uuid, $2 message. Returns
 * whether each was running.
 */
export function cancelOperations(schema: string, bossSchema: string): string {
  const free = `NOT ${HELD(bossSchema, 'o')}`;
  return `UPDATE ${ident(schema)}.operation o
    SET canceled = true,
      status = CASE WHEN ${free} THEN 3 ELSE o.status END,
      will_retry = CASE WHEN ${free} THEN false ELSE o.will_retry END,
      result_message = CASE WHEN ${free} THEN $2 ELSE o.result_message END,
      finished_at = CASE WHEN ${free} THEN ${DB_SECOND} ELSE o.finished_at END
    WHERE o.bulk_uuid = $1 AND ${UNFINISHED('o')} AND NOT o.canceled
    RETURNING NOT ${free} AS running`;
}
