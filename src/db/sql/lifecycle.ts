/**
 * The SQL of an operation's lifecycle (src/consumer/lifecycle.ts tells the state machine), set-based
 * over parallel arrays of (bulk uuid, key). Two rules hold every statement together:
 * - a claim is a lease with a fencing token: claiming increments `lease_token`, and every write a
 *   worker makes about an operation it claimed names that token, so a worker whose lease lapsed
 *   (and was taken over) writes nothing;
 * - "unfinished" is `status = 4 OR will_retry`: open, or retriably failed with an automatic retry
 *   still coming. Everything else is final, and only the retry API reopens it.
 */
import { ident } from '../pool.ts';

/** Columns of a claimed operation. */
export interface OperationRow {
  bulk_uuid: string;
  operation_key: number;
  topic_name: string;
  operation_id: string;
  serialized_data: string | null;
  status: number;
  /** Runs recorded so far (the retry limit counts them). */
  attempts: number;
  /** The fencing token of this claim. */
  lease_token: number;
  /** How often the retry API reopened it (part of its job ids). */
  reopened: number;
  store_id: number;
  store_code: string | null;
}

/** Why a delivered job's operation was not claimed. */
export type Unclaimed =
  /** Final, or gone with its bulk: the job is completed, nothing runs. */
  | 'done'
  /** Canceled while a worker held it, and that worker is gone: it becomes `Canceled`. */
  | 'canceled'
  /** Held by another worker's live lease, or behind an unfinished earlier operation of its key. */
  | 'busy';

const UNFINISHED = (o: string) => `(${o}.status = 4 OR ${o}.will_retry)`;
const LEASE_FREE = (o: string) => `(${o}.lease_until IS NULL OR ${o}.lease_until < now())`;

/**
 * Whether an unfinished operation may be claimed now: not canceled, no live lease, and no earlier
 * unfinished operation of its entity key (the key's rows of `operation_order`).
 */
function claimable(s: string, o: string): string {
  return `${UNFINISHED(o)} AND NOT ${o}.canceled AND ${LEASE_FREE(o)}
      AND NOT EXISTS (SELECT 1 FROM ${s}.operation_order me
        JOIN ${s}.operation_order before ON before.order_key = me.order_key AND before.seq < me.seq
        WHERE me.bulk_uuid = ${o}.bulk_uuid AND me.operation_key = ${o}.operation_key)`;
}

/**
 * The claim of a batch of delivered jobs, as CTEs after the one that delivered them. `jobs` is a
 * CTE with an `id` and the expressions `bulk` and `key` read the address from its rows (text).
 * `lease` is the placeholder of the lease in seconds. The final SELECT returns every delivered job
 * with its claimed operation (`__` columns) or why none was claimed (`__unclaimed`, `__wait`
 * seconds until the holder's lease lapses). All CTEs see one snapshot: `cur` is the row before the
 * claim.
 */
export function claimDelivered(
  schema: string,
  jobs: string,
  address: { bulk: string; key: string },
  lease: string,
): { ctes: string; select: string } {
  const s = ident(schema);
  const UUID = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;
  const ctes = `__address AS (
      SELECT f.id AS job_id,
        CASE WHEN ${address.bulk} ~ ${UUID} THEN (${address.bulk})::uuid END AS bulk_uuid,
        CASE WHEN ${address.key} ~ '^[0-9]{1,9}$' THEN (${address.key})::int END AS operation_key
      FROM ${jobs} f),
    __ops AS (
      UPDATE ${s}.operation o
      SET lease_token = o.lease_token + 1, lease_until = now() + make_interval(secs => ${lease}::int)
      FROM __address a
      WHERE o.bulk_uuid = a.bulk_uuid AND o.operation_key = a.operation_key AND ${claimable(s, 'o')}
      RETURNING a.job_id, o.bulk_uuid, o.operation_key, o.topic_name, o.operation_id, o.serialized_data,
        o.status, o.attempts, o.lease_token, o.reopened)`;
  const select = `SELECT f.*, true AS "__loaded",
      c.bulk_uuid AS "__bulk_uuid", c.operation_key AS "__operation_key", c.topic_name AS "__topic_name",
      c.operation_id AS "__operation_id", c.serialized_data AS "__serialized_data", c.status AS "__status",
      c.attempts AS "__attempts", c.lease_token AS "__lease_token", c.reopened AS "__reopened",
      b.store_id AS "__store_id", b.store_code AS "__store_code",
      CASE WHEN c.job_id IS NOT NULL THEN NULL
        WHEN cur.bulk_uuid IS NULL OR NOT ${UNFINISHED('cur')} THEN 'done'
        WHEN cur.canceled AND ${LEASE_FREE('cur')} THEN 'canceled'
        ELSE 'busy' END AS "__unclaimed",
      CASE WHEN cur.lease_until > now() THEN ceil(extract(epoch FROM cur.lease_until - now()))::int END AS "__wait"
    FROM ${jobs} f
    JOIN __address a ON a.job_id = f.id
    LEFT JOIN __ops c ON c.job_id = f.id
    LEFT JOIN ${s}.bulk b ON b.uuid = c.bulk_uuid
    LEFT JOIN ${s}.operation cur ON cur.bulk_uuid = a.bulk_uuid AND cur.operation_key = a.operation_key`;
  return { ctes, select };
}

/**
 * The claim on its own, for delivered jobs whose fetch could not have it folded in.
 * $1 text[] job ids, $2 text[] bulk uuids, $3 text[] keys, $4 lease seconds.
 */
export function claimJobs(schema: string): string {
  const { ctes, select } = claimDelivered(schema, '__jobs', { bulk: 'f.bulk', key: 'f.key' }, '$4');
  return `WITH __jobs AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS j(id, bulk, key)),
    ${ctes}
    ${select}`;
}

/**
 * Extends the leases a worker still holds. $1 uuid[], $2 int[] keys, $3 int[] tokens, $4 lease
 * seconds. Returns the ones still held, with whether the cancel API flagged them since.
 */
export function extendLeases(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET lease_until = now() + make_interval(secs => $4::int)
    FROM unnest($1::uuid[], $2::int[], $3::int[]) AS h(bulk_uuid, operation_key, token)
    WHERE o.bulk_uuid = h.bulk_uuid AND o.operation_key = h.operation_key AND o.lease_token = h.token
      AND o.lease_until IS NOT NULL AND ${UNFINISHED('o')}
    RETURNING o.bulk_uuid, o.operation_key, o.canceled`;
}

/** Gives claims back unrun (shutdown, a lease about to lapse). $1 uuid[], $2 int[], $3 int[] tokens. */
export function releaseClaims(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o SET lease_until = NULL
    FROM unnest($1::uuid[], $2::int[], $3::int[]) AS h(bulk_uuid, operation_key, token)
    WHERE o.bulk_uuid = h.bulk_uuid AND o.operation_key = h.operation_key AND o.lease_token = h.token
      AND o.lease_until IS NOT NULL`;
}

/**
 * Records outcomes of claimed operations, fenced by the claim's token. $1 uuid[], $2 int[] keys,
 * $3 int[] tokens, $4 smallint[] status (1, 2 or 3), $5 int[] error codes, $6 text[] messages,
 * $7 text[] result JSON, $8 timestamptz the batch started, $9 int retry limit; with `paramOffset`
 * n they are $n+1 to $n+9 (the statement is then a CTE in front of pg-boss's job completion).
 * A retriable failure with runs left becomes status 2 `will_retry`; a canceled operation is never
 * retried (its failure is final, status 3); success clears `serialized_data` (Magento's
 * OperationManagement). Returns the rows written: a missing one lost its claim.
 */
export function recordOutcomes(schema: string, options: { asyncCommit?: boolean; paramOffset?: number } = {}): string {
  const s = ident(schema);
  const p = (n: number) => `$${n + (options.paramOffset ?? 0)}`;
  // asyncCommit: for the autocommit write that precedes a job's completion; the completion's own
  // (synchronous) commit flushes the WAL up to and including this one. One fsync per batch.
  const durability = options.asyncCommit
    ? `, (SELECT set_config('synchronous_commit', 'off', true)) AS durability`
    : '';
  return `UPDATE ${s}.operation o
    SET status = CASE WHEN r.status = 2 AND o.canceled THEN 3 ELSE r.status END,
      will_retry = r.status = 2 AND NOT o.canceled AND o.attempts + 1 <= ${p(9)}::int,
      error_code = r.error_code, result_message = r.message, result_serialized_data = r.result,
      serialized_data = CASE WHEN r.status = 1 THEN NULL ELSE o.serialized_data END,
      started_at = (${p(8)}::timestamptz AT TIME ZONE 'UTC'),
      finished_at = (now() AT TIME ZONE 'UTC'), attempts = o.attempts + 1, lease_until = NULL
    FROM unnest(${p(1)}::uuid[], ${p(2)}::int[], ${p(3)}::int[], ${p(4)}::smallint[], ${p(5)}::int[], ${p(6)}::text[], ${p(7)}::text[])
      AS r(bulk_uuid, operation_key, token, status, error_code, message, result)${durability}
    WHERE o.bulk_uuid = r.bulk_uuid AND o.operation_key = r.operation_key AND o.lease_token = r.token
      AND ${UNFINISHED('o')}
    RETURNING o.bulk_uuid, o.operation_key, o.will_retry, o.attempts, o.reopened`;
}

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
 * Closes operations whose job ran out of deliveries while they were unfinished and unclaimed
 * (every delivery's worker died): status 2 like Magento's cron for stuck operations, with no
 * automatic retry left, so the retry API can reopen them. $1 uuid[], $2 int[] keys, $3 message.
 */
export function closeAbandonedOperations(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 2, will_retry = false, error_code = 0, result_message = $3,
      finished_at = (now() AT TIME ZONE 'UTC')
    FROM unnest($1::uuid[], $2::int[]) AS j(bulk_uuid, operation_key)
    WHERE o.bulk_uuid = j.bulk_uuid AND o.operation_key = j.operation_key
      AND ${UNFINISHED('o')} AND ${LEASE_FREE('o')}`;
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

/**
 * The retry API: reopens final failed operations. One with an automatic retry coming (`will_retry`)
 * already has a job, and one a worker holds is running: both are left alone, so no operation ever
 * gets a second job. The reopened one starts its runs afresh and goes behind its key's queue.
 * $1 uuid, $2 smallint[] statuses, $3 int[] error codes or NULL for any.
 */
export function reopenOperations(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o
    SET status = 4, will_retry = false, result_message = NULL, error_code = NULL,
      result_serialized_data = NULL, started_at = NULL, finished_at = NULL, reopened = reopened + 1,
      canceled = false, attempts = 0
    WHERE bulk_uuid = $1 AND status = ANY($2::smallint[]) AND NOT will_retry AND ${LEASE_FREE('o')}
      AND ($3::int[] IS NULL OR error_code = ANY($3::int[]))
    RETURNING operation_key, operation_id, reopened`;
}

/**
 * The sweeper's look for unfinished, unclaimed operations with no live job in pg-boss's job table
 * (deleted by retention or by hand): only bulks whose counters show something unfinished are read.
 * Reads pg-boss's `job` table (name, state, data), pinned by test/consumer/lifecycle-sweep.test.ts.
 * $1 text[] queue names, $2 limit.
 */
export function selectOrphans(schema: string, bossSchema: string): string {
  const s = ident(schema);
  return `WITH unfinished AS (
      SELECT bulk_uuid FROM ${s}.bulk_counter GROUP BY bulk_uuid HAVING sum(open) + sum(retrying) > 0)
    SELECT o.bulk_uuid::text AS bulk_uuid, o.operation_key, o.operation_id
    FROM unfinished u JOIN ${s}.operation o ON o.bulk_uuid = u.bulk_uuid
    WHERE ${UNFINISHED('o')} AND ${LEASE_FREE('o')}
      AND NOT EXISTS (SELECT 1 FROM ${ident(bossSchema)}.job j
        WHERE j.name = ANY($1::text[]) AND j.state < 'completed'
          AND j.data->>'bulk' = o.bulk_uuid::text AND j.data->>'key' = o.operation_key::text)
    LIMIT $2`;
}

/** Replaces the entity-key rules of these operationIds. $1 text[] ids, $2 text[] namespaces, $3 text[] JSON path lists. */
export function upsertOrderRules(schema: string): string {
  return `INSERT INTO ${ident(schema)}.order_key_rule (operation_id, namespace, paths)
    SELECT id, ns, ARRAY(SELECT jsonb_array_elements_text(p::jsonb))
    FROM unnest($1::text[], $2::text[], $3::text[]) AS r(id, ns, p)
    ON CONFLICT (operation_id) DO UPDATE SET namespace = excluded.namespace, paths = excluded.paths
    WHERE order_key_rule.namespace IS DISTINCT FROM excluded.namespace
      OR order_key_rule.paths IS DISTINCT FROM excluded.paths`;
}

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
