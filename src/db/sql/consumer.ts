/**
 * The consumer's statements on the operation table, set-based over arrays of (bulk uuid, key).
 * Every status write is guarded by `status IN (2, 4)` (or a cancellation, which a running attempt
 * overrides): an operation another attempt already finished is never overwritten, which is what
 * makes a late or duplicate attempt harmless.
 */
import { ident } from '../pool.ts';

/** Columns returned by {@link loadOperations}. */
export interface OperationRow {
  bulk_uuid: string;
  operation_key: number;
  topic_name: string;
  operation_id: string;
  serialized_data: string | null;
  status: number;
  attempts: number;
  store_id: number;
  store_code: string | null;
}

/**
 * Loads the runnable operations of a batch. $1 uuid[] bulk uuids, $2 int[] keys (parallel arrays).
 * Rows that are finished or missing are not returned: their jobs are settled without running
 * anything. A plain read: `started_at` is written with the outcome (see {@link recordOutcomes}),
 * which saved a write of every operation row per batch (the benchmark's largest cost after the
 * job table's own).
 */
export function loadOperations(schema: string): string {
  const s = ident(schema);
  return `SELECT o.bulk_uuid, o.operation_key, o.topic_name, o.operation_id, o.serialized_data,
      o.status, o.attempts, b.store_id, b.store_code
    FROM unnest($1::uuid[], $2::int[]) AS j(bulk_uuid, operation_key)
    JOIN ${s}.operation o ON o.bulk_uuid = j.bulk_uuid AND o.operation_key = j.operation_key
    JOIN ${s}.bulk b ON b.uuid = o.bulk_uuid
    WHERE o.status IN (2, 4)`;
}

/**
 * Records outcomes. $1 uuid[], $2 int[] keys, $3 smallint[] status, $4 int[] error codes (NULL on
 * success), $5 text[] result messages, $6 text[] result JSON (NULL on failure), $7 timestamptz
 * when the batch was loaded (`started_at` of this attempt); with `paramOffset` n they are $n+1 to
 * $n+7, so the statement can be a CTE in front of another one (the job completion, see
 * consumer/batch.ts). Success clears `serialized_data` (Magento's OperationManagement); a failure
 * keeps it so a retry can run again. Returns the rows it changed.
 */
export function recordOutcomes(schema: string, options: { asyncCommit?: boolean; paramOffset?: number } = {}): string {
  const s = ident(schema);
  const p = (n: number) => `$${n + (options.paramOffset ?? 0)}`;
  // asyncCommit: for the autocommit write that precedes a job's completion. Its commit need not
  // wait for the WAL flush: the completion's own (synchronous) commit flushes the WAL up to and
  // including this one, so a completed job never outlives its status, and if the server loses both,
  // the job is retried. One fsync per batch instead of two.
  const durability = options.asyncCommit
    ? `, (SELECT set_config('synchronous_commit', 'off', true)) AS durability`
    : '';
  return `UPDATE ${s}.operation o
    SET status = r.status, error_code = r.error_code, result_message = r.message,
      result_serialized_data = r.result,
      serialized_data = CASE WHEN r.status = 1 THEN NULL ELSE o.serialized_data END,
      started_at = (${p(7)}::timestamptz AT TIME ZONE 'UTC'),
      finished_at = (now() AT TIME ZONE 'UTC'), attempts = o.attempts + 1, canceled = false
    FROM unnest(${p(1)}::uuid[], ${p(2)}::int[], ${p(3)}::smallint[], ${p(4)}::int[], ${p(5)}::text[], ${p(6)}::text[])
      AS r(bulk_uuid, operation_key, status, error_code, message, result)${durability}
    WHERE o.bulk_uuid = r.bulk_uuid AND o.operation_key = r.operation_key AND (o.status IN (2, 4) OR o.canceled)
    RETURNING o.bulk_uuid, o.operation_key`;
}

/**
 * Which of these operations were canceled since their batch was loaded (the cancel API). $1
 * uuid[], $2 int[] keys.
 */
export function selectCanceled(schema: string): string {
  return `SELECT o.bulk_uuid, o.operation_key FROM ${ident(schema)}.operation o
    JOIN unnest($1::uuid[], $2::int[]) AS j(bulk_uuid, operation_key)
      ON o.bulk_uuid = j.bulk_uuid AND o.operation_key = j.operation_key
    WHERE o.canceled`;
}

/**
 * Closes operations whose job ran out of attempts while they were still open (every attempt's
 * worker died): status 2 like Magento's cron for stuck operations, so a retry can reopen them.
 * $1 uuid[], $2 int[] keys, $3 message.
 */
export function closeAbandonedOperations(schema: string): string {
  const s = ident(schema);
  return `UPDATE ${s}.operation o
    SET status = 2, error_code = 0, result_message = $3, finished_at = (now() AT TIME ZONE 'UTC')
    FROM unnest($1::uuid[], $2::int[]) AS j(bulk_uuid, operation_key)
    WHERE o.bulk_uuid = j.bulk_uuid AND o.operation_key = j.operation_key AND o.status = 4`;
}
