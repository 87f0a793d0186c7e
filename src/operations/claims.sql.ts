/**
 * The SQL of claims (see claims.ts). A claim is the delivering pg-boss job itself: an operation is
 * held while a job of it is `active`, and the job's attempt (`id:retry_count`, what pg-boss fences
 * its own settles with) is the fencing token. pg-boss hands a job to one worker at a time and moves
 * `retry_count` on with every hand-over, so a claim costs no write of the operation row: the one
 * write of an attempt is its outcome. An operation has at most one live job (accept, put-off,
 * retries and sweeps replace one job with the next in one transaction; the retry API gives a new
 * job only to one with none), so pg-boss's exclusion of a job is the exclusion of the operation.
 *
 * pg-boss's job table is found by operation through `job_operation` (src/queue/job-index.ts), an
 * index of live jobs by their payload's bulk and key: every look below is an index probe.
 */
import { ident, schemaIdent } from '../db/pool.ts';
import { DEAD_LETTER_QUEUE } from '../queue/names.ts';
import { unfinishedSql as UNFINISHED } from './finished.ts';

/** Why a delivered job's operation was not claimed. */
export type Unclaimed =
  /** Final, or gone with its bulk, or another job of it is its delivery: completed, nothing runs. */
  | 'done'
  /** Canceled while a worker held it, and that worker is gone: it becomes `Canceled`. */
  | 'canceled'
  /**
   * Behind an unfinished earlier operation of its key, or its automatic retry is not due yet (or a
   * second delivery of it in the same batch, claims.ts `oneClaimPerOperation`).
   */
  | 'busy';

/**
 * SQL: the live jobs (`states`, e.g. `= 'active'` or `< 'completed'`) of operation row `o` in the
 * operations' queues, as a FROM item `j` (an index probe of `job_operation`).
 */
export const jobsOf = (bossSchema: string, o: string, states: string): string =>
  `${schemaIdent(bossSchema)}.job j WHERE j.data->>'bulk' = ${o}.bulk_uuid::text AND j.data->>'key' = ${o}.operation_key::text
      AND j.state < 'completed' AND j.state ${states} AND j.name <> '${DEAD_LETTER_QUEUE}'`;

/**
 * Records the pg-boss schema whose jobs claim this schema's operations, for the one look at jobs a
 * trigger makes (051_claims_are_jobs.sql: a failed provider fails only the waiters no worker
 * holds). Every consumer runs it at start, before it fetches. $1 the pg-boss schema's name.
 */
export function recordQueueSchema(schema: string): string {
  const s = ident(schema);
  return `INSERT INTO ${s}.queue_schema AS q (boss_schema) VALUES ($1)
    ON CONFLICT (one) DO UPDATE SET boss_schema = excluded.boss_schema
    WHERE q.boss_schema IS DISTINCT FROM excluded.boss_schema`;
}

/** SQL: operation row `o` is held (a job of it is active), other than by the job `except` (uuid). */
export const HELD = (bossSchema: string, o: string, except = 'NULL::uuid'): string =>
  `EXISTS (SELECT 1 FROM ${jobsOf(bossSchema, o, `= 'active'`)} AND j.id IS DISTINCT FROM ${except})`;

/** SQL: operation row `o` has an automatic retry coming that is not due yet. */
const NOT_DUE = (o: string): string => `(${o}.will_retry AND ${o}.retry_at > now())`;

/**
 * SQL: the attempt `attempt` ('id:retry_count', text) of queue `queue` still holds its claim: the
 * job is active in that attempt. pg-boss's own fence (plans.attemptFence), as a condition.
 */
export const ATTEMPT_HOLDS = (bossSchema: string, queue: string, attempt: string): string =>
  `EXISTS (SELECT 1 FROM ${schemaIdent(bossSchema)}.job j WHERE j.name = ${queue}
      AND j.id = split_part(${attempt}, ':', 1)::uuid AND j.state = 'active'
      AND (j.id::text || ':' || j.retry_count::text) = ${attempt})`;

/**
 * Whether an unfinished operation may be run by its delivery: not canceled, its retry due (a second
 * delivery must not run it before its backoff or `Retry-After`), and no earlier unfinished
 * operation of its entity key: `me` is its own row of `operation_order` (NULL when it has no key),
 * read once for this and for `keyed`.
 *
 * No look at its other jobs: an operation has one live job (every writer of jobs replaces one with
 * the next in one transaction, fenced by the delivery's attempt; the retry API and the sweeper give
 * one only to an operation with none), and pg-boss delivers a job to one worker at a time, so the
 * delivery of its job is the only one that can hold it. That look was half the buffers the claim
 * read per batch.
 */
function claimable(s: string, o: string, me: string): string {
  return `${UNFINISHED(o)} AND NOT ${o}.canceled AND NOT ${NOT_DUE(o)}
      AND NOT EXISTS (SELECT 1 FROM ${s}.operation_order before
        WHERE before.order_key = ${me}.order_key AND before.seq < ${me}.seq)`;
}

/**
 * The claim of a batch of delivered jobs, as CTEs after the one that delivered them: it reads, and
 * writes nothing. `jobs` is a CTE with an `id` and the expressions `bulk` and `key` read the
 * address from its rows (text). The final SELECT returns every delivered job with its claimed
 * operation (`__` columns) or why none was claimed (`__unclaimed`, `__wait` seconds until its
 * retry is due, when that is why). Two deliveries of one operation in one batch are
 * both returned claimed (neither sees the other active): the caller keeps the lower job id's claim
 * and puts the other off as busy (claims.ts `oneClaimPerOperation`).
 *
 * One pass over the batch: each delivery's operation (and its key's row) is an index probe of its
 * own (a LATERAL subquery), never a join of one CTE with another, which the fetch connections'
 * planner (no hash or merge joins, src/queue/fetch-plan.ts) could only run as a nested loop of
 * every row with every row.
 *
 * `checked: false` casts the addresses without looking at them first ({@link castAddress}).
 */
export function claimDelivered(
  schema: string,
  jobs: string,
  address: { bulk: string; key: string },
  options: { checked?: boolean } = {},
): { ctes: string; select: string } {
  const s = ident(schema);
  const { bulk, key } = options.checked === false ? castAddress(address) : checkedAddress(address);
  const ctes = `__address AS MATERIALIZED (
      SELECT f.*, ${bulk} AS __a_bulk, ${key} AS __a_key FROM ${jobs} f)`;
  // OFFSET 0 keeps the LATERAL subquery of an unclaimed delivery whole, so its condition on the
  // claim is a one-time filter that skips its probe, not a join filter after it.
  const select = `SELECT a.*, true AS "__loaded",
      c.bulk_uuid AS "__bulk_uuid", c.operation_key AS "__operation_key", c.topic_name AS "__topic_name",
      c.operation_id AS "__operation_id", c.serialized_data AS "__serialized_data", c.status AS "__status",
      c.attempts AS "__attempts", c.attempts_at_reopen AS "__attempts_at_reopen", c.reopened AS "__reopened", c.keyed AS "__keyed",
      b.store_id AS "__store_id", b.store_code AS "__store_code",
      CASE WHEN c.bulk_uuid IS NOT NULL THEN NULL
        WHEN cur.bulk_uuid IS NULL OR NOT ${UNFINISHED('cur')} THEN 'done'
        WHEN cur.canceled THEN 'canceled'
        ELSE 'busy' END AS "__unclaimed",
      CASE WHEN c.bulk_uuid IS NULL AND ${NOT_DUE('cur')}
        THEN ceil(extract(epoch FROM cur.retry_at - now()))::int END AS "__wait"
    FROM __address a
    LEFT JOIN LATERAL (
      SELECT o.bulk_uuid, o.operation_key, o.topic_name, o.operation_id, o.serialized_data,
        o.status, o.attempts, o.attempts_at_reopen, o.reopened, me.seq IS NOT NULL AS keyed
      FROM ${s}.operation o
      LEFT JOIN ${s}.operation_order me ON me.bulk_uuid = o.bulk_uuid AND me.operation_key = o.operation_key
      WHERE o.bulk_uuid = a.__a_bulk AND o.operation_key = a.__a_key
        AND ${claimable(s, 'o', 'me')}) c ON true
    LEFT JOIN ${s}.bulk b ON b.uuid = c.bulk_uuid
    LEFT JOIN LATERAL (SELECT cur.bulk_uuid, cur.operation_key, cur.status, cur.will_retry, cur.retry_at, cur.canceled
      FROM ${s}.operation cur WHERE c.bulk_uuid IS NULL AND cur.bulk_uuid = a.__a_bulk AND cur.operation_key = a.__a_key
      OFFSET 0) cur ON true`;
  return { ctes, select };
}

/**
 * A job's address as the operation's key: a payload that is not one (a job some other writer put in
 * an operations queue) reads as NULL, the address of no operation, so its delivery is claimed as
 * `done`. The checks are regular expressions: 4.4 µs per job, the dearest part of a claim.
 */
function checkedAddress(address: { bulk: string; key: string }): { bulk: string; key: string } {
  const UUID = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;
  return {
    bulk: `CASE WHEN ${address.bulk} ~ ${UUID} THEN (${address.bulk})::uuid END`,
    key: `CASE WHEN ${address.key} ~ '^[0-9]{1,9}$' THEN (${address.key})::int END`,
  };
}

/**
 * The address cast as it is (0.5 µs per job): a payload that is not an address fails the whole
 * statement with a data exception, nothing delivered. Only for the folded fetch, whose connection
 * then runs pg-boss's own fetch and leaves the claim to {@link claimJobs}, which checks
 * (src/queue/fetch-fold.ts).
 */
function castAddress(address: { bulk: string; key: string }): { bulk: string; key: string } {
  return { bulk: `(${address.bulk})::uuid`, key: `(${address.key})::int` };
}

/**
 * The claim on its own, for delivered jobs whose fetch could not have it folded in.
 * $1 text[] job ids, $2 text[] bulk uuids, $3 text[] keys.
 */
export function claimJobs(schema: string): string {
  const { ctes, select } = claimDelivered(schema, '__jobs', { bulk: 'f.bulk', key: 'f.key' });
  return `WITH __jobs AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS j(id, bulk, key)),
    ${ctes}
    ${select}`;
}

/**
 * Looks again at operations a worker holds: the unfinished ones, with whether the cancel API
 * flagged them since. $1 uuid[], $2 int[] keys. A read: holding costs no write.
 */
export function lookAtHeld(schema: string): string {
  return `SELECT o.bulk_uuid, o.operation_key, o.canceled FROM ${ident(schema)}.operation o
    JOIN unnest($1::uuid[], $2::int[]) AS h(bulk_uuid, operation_key)
      ON o.bulk_uuid = h.bulk_uuid AND o.operation_key = h.operation_key
    WHERE ${UNFINISHED('o')}`;
}

/**
 * The claim folded into pg-boss's fetch (src/queue/fetch-fold.ts): the delivered jobs' operations
 * are claimed in the statement that delivers them. Their addresses are cast unchecked: a batch with
 * a job whose payload is no address fails the statement, and is fetched and claimed again the
 * checked way ({@link claimJobs}).
 */
export const claimFold =
  (schema: string) =>
  (delivered: string, address: { bulk: string; key: string }): { ctes: string; select: string } =>
    claimDelivered(schema, delivered, address, { checked: false });
