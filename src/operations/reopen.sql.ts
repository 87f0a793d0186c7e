/** The SQL of the retry API (see reopen.ts). */
import { ident } from '../db/pool.ts';
import { HELD, jobsOf } from './claims.sql.ts';

/**
 * The retry API: reopens final failed operations. One with an automatic retry coming (`will_retry`)
 * already has a job, and one a worker holds is running: both are left alone. One whose job is still
 * queued (canceled before it ran) keeps that job as its delivery (`has_job`): the caller enqueues
 * only the others, so no operation ever has two live jobs. The reopened one keeps its `attempts`
 * (its automatic retries count afresh from there) and goes behind its key's queue.
 * $1 uuid, $2 smallint[] statuses, $3 int[] error codes or NULL for any.
 */
export function reopenOperations(schema: string, bossSchema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 4, will_retry = false, result_message = NULL, error_code = NULL,
      result_serialized_data = NULL, started_at = NULL, finished_at = NULL, reopened = reopened + 1,
      canceled = false, attempts_at_reopen = attempts, retry_at = NULL
    WHERE bulk_uuid = $1 AND status = ANY($2::smallint[]) AND NOT will_retry AND NOT ${HELD(bossSchema, 'o')}
      AND ($3::int[] IS NULL OR error_code = ANY($3::int[]))
    RETURNING operation_key, operation_id, reopened,
      EXISTS (SELECT 1 FROM ${jobsOf(bossSchema, 'o', `< 'active'`)}) AS has_job`;
}
