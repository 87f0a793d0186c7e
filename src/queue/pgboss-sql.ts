/**
 * Everything we rely on in pg-boss's own SQL, in one place, pinned to one pg-boss version
 * (package.json pins it exactly). test/queue/pgboss-sql.test.ts captures the statements the
 * installed pg-boss sends and fails when any of them differs from the text pinned here, so an
 * upgrade is a deliberate step: read the new statements, adjust the rewrites, update the pins.
 *
 * The rewrites fail safe: a statement of another shape is run as pg-boss wrote it (the consumer
 * then claims and records in statements of their own, slower but correct).
 * - fetch: `WITH <ctes> UPDATE <job> ... RETURNING ...` (plans.fetchNextJob, standard policy). The
 *   consumer folds its claim in: the UPDATE becomes one more CTE (fetch-fold.ts).
 * - complete: `WITH results AS (UPDATE ...) <select>` (plans.completeJobs, fenced). The consumer
 *   adds its outcome UPDATE after `results` as one more data-modifying CTE, fenced by the ids it
 *   returns (completion-fold.ts).
 * - the NOTIFY channel of a schema (plans.notifyChannelSql), computed by the database the same way.
 * - the job table's `name`, `state` (an enum with `completed` after the live states) and `data`
 *   columns, read by the sweeper and the operators' queue view (src/operations/sweep.sql.ts, src/db/sql/operators.ts).
 * - the job table's `id`, `name`, `state` (`created` before `active`) and `start_after` columns,
 *   which the consumer moves up to now for a job put off behind an operation that just finished
 *   ({@link startWaitingJobsNow}); pg-boss fetches a job once `start_after <= job_now()`.
 * - the job table's `id`, `name`, `state`, `retry_count`, `started_on` and `heartbeat_on` columns:
 *   a claim is its job (src/operations/claims.ts), kept while its batch runs by moving both clocks
 *   pg-boss hands a job on by (its expiry from `started_on`, its heartbeat from `heartbeat_on`) up
 *   to now ({@link extendJobs}).
 * - the job insert the accept statement embeds (plans.insertJobs): its shape check lives beside its
 *   use in src/queue/job-insert.ts, pinned to this same version (test/queue/job-insert.test.ts).
 */

import { schemaIdent } from '../db/pool.ts';

export const PGBOSS_VERSION = '12.38.0';

/**
 * sha256 of each pinned statement as the installed pg-boss sends it, with its schema written
 * `<schema>`, the queue `<queue>` and the fetch limit `<limit>` (see the test).
 */
export const PINNED_SQL = {
  fetch: '6e3e82dc5413b63dc5679313caa52c9585f747ff1e66c481662ef82ab73be381',
  complete: '8c94daee7cda94ea7a0fa6f41ed4ba37f227a42c83c01477e7328e9cf646c6b3',
} as const;

/** pg-boss's channel for a schema: `pgboss_` and the first 24 hex digits of sha224 of its name. */
export const NOTIFY_CHANNEL_SQL = `SELECT 'pgboss_' || left(encode(sha224($1::text::bytea), 'hex'), 24) AS channel`;

/**
 * Splits pg-boss's fetch statement into its CTEs (`WITH a AS (...), b AS (...)`) and its main
 * `UPDATE ... RETURNING ...`, or null when its shape is not the known one.
 */
export function splitFetch(text: string): { ctes: string; update: string } | null {
  const main = topLevel(text, 'UPDATE');
  if (main === null || !/\bRETURNING\b/i.test(text.slice(main))) return null;
  return { ctes: text.slice(0, main).trimEnd(), update: text.slice(main) };
}

/**
 * pg-boss's completion with `cte` added as `name` after its own CTEs, so `cte` may read `results`
 * (the ids of the jobs the completion settled, fenced by their attempts), or null when the
 * statement is not `WITH ... <select>` of the known shape.
 */
export function completionWithCteAfter(text: string, name: string, cte: string): string | null {
  if (/^\s*WITH\s+RECURSIVE\b/i.test(text)) return null;
  const i = topLevel(text, 'SELECT');
  if (i === null || !/\bresults\s+AS\s*\(/i.test(text.slice(0, i))) return null;
  return `${text.slice(0, i).trimEnd()},\n    ${name} AS (${cte})\n    ${text.slice(i)}`;
}

/**
 * Where `keyword` first starts a clause outside every bracket and quote of a `WITH ...` statement
 * (the main statement after its CTEs), or null when the text is not of that shape. Comments or
 * dollar quotes would defeat the scan; pg-boss's statements have neither.
 */
function topLevel(text: string, keyword: 'UPDATE' | 'SELECT'): number | null {
  const head = /^\s*WITH\s/i.exec(text);
  if (!head || /--|\/\*|\$\$/.test(text)) return null;
  const starts = new RegExp(`^${keyword}\\s`, 'i');
  let depth = 0;
  let quoted: string | null = null;
  for (let i = head[0].length; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === quoted) quoted = null;
      continue;
    }
    if (c === "'" || c === '"') quoted = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /\s/.test(text[i - 1]!) && starts.test(text.slice(i, i + 7))) return i;
  }
  return null;
}

/**
 * Makes the jobs `ids` (a SELECT of one uuid column `id`) of `queue` ($1) runnable now, when they
 * are still waiting to be fetched. Returns how many were moved up. `job_now()` is pg-boss's clock,
 * the one its fetch compares `start_after` with.
 */
export function startWaitingJobsNow(bossSchema: string, ids: string): string {
  const b = schemaIdent(bossSchema);
  return `WITH ids AS (${ids})
    UPDATE ${b}.job j SET start_after = ${b}.job_now()
    FROM ids WHERE j.name = $3 AND j.id = ids.id AND j.state = 'created' AND j.start_after > ${b}.job_now()`;
}

/**
 * Keeps the active jobs of the attempts $2 (text[] `id:retry_count`) of queue $1 for their worker:
 * pg-boss hands a job on once `started_on` is its expiry ago or `heartbeat_on` its heartbeat ago,
 * and both move up to now, so a job is a lease its worker extends while its batch runs (a slow batch
 * keeps its claims however long it takes; a worker that stops extending loses them). `started_on`
 * then says when the job was last extended. It never waits for a row lock (SKIP LOCKED): a job
 * locked now (its batch completing it, or pg-boss failing it) is left for the next extension, so
 * this can never close a deadlock with the batch's own completion. Returns each attempt's job with
 * whether it was extended (`extended`) or found locked (`locked`); one missing is no longer ours.
 */
export function extendJobs(bossSchema: string): string {
  const b = schemaIdent(bossSchema);
  const ours = `j.name = $1 AND j.id = ANY(ARRAY(SELECT split_part(a, ':', 1)::uuid FROM unnest($2::text[]) a))
      AND j.state = 'active' AND (j.id::text || ':' || j.retry_count::text) = ANY($2::text[])`;
  return `WITH free AS (SELECT j.id FROM ${b}.job j WHERE ${ours} FOR NO KEY UPDATE OF j SKIP LOCKED),
    extended AS (
      UPDATE ${b}.job j SET started_on = ${b}.job_now(), heartbeat_on = ${b}.job_now()
      FROM free WHERE j.name = $1 AND j.id = free.id
      RETURNING j.id)
    SELECT id::text AS id, true AS extended FROM extended
    UNION ALL
    SELECT j.id::text, false FROM ${b}.job j WHERE ${ours} AND j.id NOT IN (SELECT id FROM free)`;
}
