/** The SQL of the cancel API and of finishing what it flagged (see cancel.ts). */
import { ident } from '../db/pool.ts';
import { LEASE_FREE } from './claims.sql.ts';
import { unfinishedSql as UNFINISHED } from './finished.ts';

/**
 * Finishes operations the cancel API flagged while a worker held them, once no worker does.
 * $1 uuid[], $2 int[] keys, $3 message.
 */
export function finishCanceled(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 3, will_retry = false, result_message = $3, finished_at = (now() AT TIME ZONE 'UTC')
    FROM unnest($1::uuid[], $2::int[]) AS j(bulk_uuid, operation_key)
    WHERE o.bulk_uuid = j.bulk_uuid AND o.operation_key = j.operation_key
      AND o.canceled AND ${UNFINISHED('o')} AND ${LEASE_FREE('o')}`;
}

/**
 * The cancel API: every unfinished operation of the bulk, retries included, is canceled. One no
 * worker holds becomes status 3 `Canceled` at once and never runs; one a worker is running keeps
 * its status, flagged, so the bulk is not reported finished while it runs: it finishes with its
 * real outcome and is never retried. $1 uuid, $2 message. Returns whether each was running.
 */
export function cancelOperations(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET canceled = true,
      status = CASE WHEN ${LEASE_FREE('o')} THEN 3 ELSE o.status END,
      will_retry = CASE WHEN ${LEASE_FREE('o')} THEN false ELSE o.will_retry END,
      result_message = CASE WHEN ${LEASE_FREE('o')} THEN $2 ELSE o.result_message END,
      finished_at = CASE WHEN ${LEASE_FREE('o')} THEN (now() AT TIME ZONE 'UTC') ELSE o.finished_at END
    WHERE o.bulk_uuid = $1 AND ${UNFINISHED('o')} AND NOT o.canceled
    RETURNING NOT ${LEASE_FREE('o')} AS running`;
}
