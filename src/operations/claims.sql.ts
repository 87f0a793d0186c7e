/**
 * The SQL of claims (see claims.ts): a claim is a lease with a fencing token. Claiming increments
 * `lease_token`, and every write a worker makes about an operation it claimed names that token, so
 * a worker whose lease lapsed (and was taken over) writes nothing.
 */
import { ident } from '../db/pool.ts';
import { unfinishedSql as UNFINISHED } from './finished.ts';

/** Why a delivered job's operation was not claimed. */
export type Unclaimed =
  /** Final, or gone with its bulk: the job is completed, nothing runs. */
  | 'done'
  /** Canceled while a worker held it, and that worker is gone: it becomes `Canceled`. */
  | 'canceled'
  /**
   * Held by another worker's live lease, behind an unfinished earlier operation of its key, or its
   * automatic retry is not due yet.
   */
  | 'busy';

/** SQL: operation row `o` has no live lease. */
export const LEASE_FREE = (o: string): string => `(${o}.lease_until IS NULL OR ${o}.lease_until < now())`;

/** SQL: operation row `o` has an automatic retry coming that is not due yet. */
const NOT_DUE = (o: string): string => `(${o}.will_retry AND ${o}.retry_at > now())`;

/**
 * Whether an unfinished operation may be claimed now: not canceled, no live lease, its retry due
 * (a second delivery must not run it before its backoff or `Retry-After`), and no earlier
 * unfinished operation of its entity key (the key's rows of `operation_order`).
 */
function claimable(s: string, o: string): string {
  return `${UNFINISHED(o)} AND NOT ${o}.canceled AND ${LEASE_FREE(o)} AND NOT ${NOT_DUE(o)}
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
        o.status, o.attempts, o.attempts_at_reopen, o.lease_token, o.reopened)`;
  const select = `SELECT f.*, true AS "__loaded",
      c.bulk_uuid AS "__bulk_uuid", c.operation_key AS "__operation_key", c.topic_name AS "__topic_name",
      c.operation_id AS "__operation_id", c.serialized_data AS "__serialized_data", c.status AS "__status",
      c.attempts AS "__attempts", c.attempts_at_reopen AS "__attempts_at_reopen", c.lease_token AS "__lease_token", c.reopened AS "__reopened",
      b.store_id AS "__store_id", b.store_code AS "__store_code",
      CASE WHEN c.job_id IS NOT NULL THEN NULL
        WHEN cur.bulk_uuid IS NULL OR NOT ${UNFINISHED('cur')} THEN 'done'
        WHEN cur.canceled AND ${LEASE_FREE('cur')} THEN 'canceled'
        ELSE 'busy' END AS "__unclaimed",
      CASE WHEN cur.lease_until > now() THEN ceil(extract(epoch FROM cur.lease_until - now()))::int
        WHEN ${NOT_DUE('cur')} THEN ceil(extract(epoch FROM cur.retry_at - now()))::int END AS "__wait"
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
 * It never waits for a row lock (SKIP LOCKED), so it can never close a deadlock with the worker's
 * own batch transaction recording some of these outcomes right now (or any other writer): a row
 * locked now is returned unextended if it is still ours, and is extended next time if it needs it.
 */
export function extendLeases(schema: string): string {
  const s = ident(schema);
  const ours = `o.bulk_uuid = h.bulk_uuid AND o.operation_key = h.operation_key AND o.lease_token = h.token
      AND o.lease_until IS NOT NULL AND ${UNFINISHED('o')}`;
  return `WITH h AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[]) AS h(bulk_uuid, operation_key, token)),
    free AS (
      SELECT o.bulk_uuid, o.operation_key FROM ${s}.operation o JOIN h ON ${ours}
      FOR UPDATE OF o SKIP LOCKED),
    extended AS (
      UPDATE ${s}.operation o
      SET lease_until = now() + make_interval(secs => $4::int)
      FROM free f WHERE o.bulk_uuid = f.bulk_uuid AND o.operation_key = f.operation_key
      RETURNING o.bulk_uuid, o.operation_key, o.canceled)
    SELECT * FROM extended
    UNION ALL
    SELECT o.bulk_uuid, o.operation_key, o.canceled FROM ${s}.operation o JOIN h ON ${ours}
    WHERE NOT EXISTS (SELECT 1 FROM free f WHERE f.bulk_uuid = o.bulk_uuid AND f.operation_key = o.operation_key)`;
}

/** Gives claims back unrun (shutdown, a lease about to lapse). $1 uuid[], $2 int[], $3 int[] tokens. */
export function releaseClaims(schema: string): string {
  return `UPDATE ${ident(schema)}.operation o SET lease_until = NULL
    FROM unnest($1::uuid[], $2::int[], $3::int[]) AS h(bulk_uuid, operation_key, token)
    WHERE o.bulk_uuid = h.bulk_uuid AND o.operation_key = h.operation_key AND o.lease_token = h.token
      AND o.lease_until IS NOT NULL`;
}

/**
 * The claim folded into pg-boss's fetch (src/queue/fetch-fold.ts): the delivered jobs' operations
 * are claimed in the statement that delivers them.
 */
export const claimFold =
  (schema: string) =>
  (delivered: string, address: { bulk: string; key: string }, lease: string): { ctes: string; select: string } =>
    claimDelivered(schema, delivered, address, lease);
