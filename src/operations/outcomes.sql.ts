/** The SQL of recording outcomes (see outcomes.ts). */
import { ident } from '../db/pool.ts';
import { wholeSecond } from '../db/sql/seconds.ts';
import { ATTEMPT_HOLDS } from './claims.sql.ts';
import { unfinishedSql as UNFINISHED } from './finished.ts';

/**
 * Records outcomes of claimed operations, fenced by the claim: each names its delivery's attempt
 * (`id:retry_count`), which must still hold the job of queue $11. $1 uuid[], $2 int[] keys,
 * $3 text[] attempts (with `settled`: uuid[] job ids), $4 smallint[] status (1, 2 or 3), $5 int[]
 * error codes, $6 text[] messages, $7 text[] result JSON, $8 float seconds since the batch started (measured by the consumer, so
 * `started_at` and `finished_at` are both the database's clock, the one `start_time` is read from:
 * a consumer host's clock ahead or behind it cannot put started_at after finished_at or before the
 * bulk's start_time), $9 int retry limit, $10 int[] seconds until each one's retry is due
 * (retries.ts), $11 text the queue; with `paramOffset` n they are $n+1 to $n+11 (the statement is
 * then a CTE of pg-boss's job completion). With `settled`, the name of that completion's CTE of the
 * job ids it settled (fenced by their attempts), the claim is that instead: an outcome is written
 * exactly when its delivery is completed by the same statement, and the active jobs of the queue
 * are not looked at again ($11, the queue, is then not a parameter: the completion names it). The
 * attempt is then its job id alone (the completion fenced the retry count), and nothing is returned:
 * the completion's own result says what was settled.
 * A retriable failure with runs left since its last reopening becomes status 2 `will_retry`, due at
 * `retry_at`; a canceled operation is never
 * retried (its failure is final, status 3); success clears `serialized_data` (Magento's
 * OperationManagement). Returns the rows written: a missing one lost its claim.
 */
export function recordOutcomes(
  schema: string,
  bossSchema: string,
  options: { asyncCommit?: boolean; paramOffset?: number; settled?: string } = {},
): string {
  const s = ident(schema);
  const p = (n: number) => `$${n + (options.paramOffset ?? 0)}`;
  // asyncCommit: for the autocommit write that precedes a job's completion; the completion's own
  // (synchronous) commit flushes the WAL up to and including this one. One fsync per batch.
  const durability = options.asyncCommit
    ? `, (SELECT set_config('synchronous_commit', 'off', true)) AS durability`
    : '';
  const willRetry = `(r.status = 2 AND NOT o.canceled AND o.attempts + 1 - o.attempts_at_reopen <= ${p(9)}::int)`;
  return `UPDATE ${s}.operation o
    SET status = CASE WHEN r.status = 2 AND o.canceled THEN 3 ELSE r.status END,
      will_retry = ${willRetry},
      retry_at = CASE WHEN ${willRetry} THEN now() + make_interval(secs => r.delay) END,
      error_code = r.error_code, result_message = r.message, result_serialized_data = r.result,
      serialized_data = CASE WHEN r.status = 1 THEN NULL ELSE o.serialized_data END,
      started_at = ${wholeSecond(`statement_timestamp() - make_interval(secs => ${p(8)}::double precision)`)},
      finished_at = ${wholeSecond('statement_timestamp()')}, attempts = o.attempts + 1
    FROM unnest(${p(1)}::uuid[], ${p(2)}::int[], ${p(3)}::${options.settled ? 'uuid' : 'text'}[], ${p(4)}::smallint[], ${p(5)}::int[], ${p(6)}::text[], ${p(7)}::text[], ${p(10)}::int[])
      AS r(bulk_uuid, operation_key, token, status, error_code, message, result, delay)${durability}
    WHERE o.bulk_uuid = r.bulk_uuid AND o.operation_key = r.operation_key
      AND ${UNFINISHED('o')} AND ${
        options.settled
          ? // Not `IN (SELECT ...)`: pg-boss's completion is estimated at one row, so that semi-join
            // ran the unnest once per settled job (100 × 100 rows per batch); the array is read once.
            `r.token = ANY (ARRAY(SELECT id FROM ${options.settled}))`
          : ATTEMPT_HOLDS(bossSchema, `${p(11)}::text`, 'r.token')
      }${options.settled ? '' : '\n    RETURNING o.bulk_uuid, o.operation_key, o.will_retry, o.retry_at, o.attempts, o.reopened'}`;
}
