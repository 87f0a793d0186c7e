/**
 * The connections a consumer fetches on, planned so a fetch costs the same at any depth.
 *
 * pg-boss's fetch takes the first `limit` runnable jobs of a queue in `job_i11` order (`name,
 * priority DESC, created_on`): read in that order, the index hands them out and the scan stops
 * after `limit` rows, whatever the queue holds. But the planner picks that plan only when its
 * statistics know how many jobs are runnable. They lag behind a bulk load (the table was analysed
 * while the queue was empty, or never: a busy server's autovacuum does not get round to it), and
 * then it reads EVERY runnable job through a bitmap scan and sorts them all to keep 100 (measured by
 * bench/depth-plans.ts: 451 ms and a 4.7 MB on-disk sort at 100,000 runnable, 0.23 ms in index
 * order; issue 21 saw 3–6 s per fetch at 945,000). A bitmap scan also never marks the dead index
 * entries of jobs already run, so a drained queue kept paying for its whole history (13.7 ms, 3,234
 * buffers after 100,000 jobs) where the index scan marks them once and then skips them (0.25 ms).
 *
 * The rest of the folded fetch joins the batch's 100 jobs to their operations and bulks by key; with
 * the operation table's statistics as stale, the planner expected dozens of rows per key and hashed
 * the WHOLE operation table to join 100 rows (8.1 s and 260,000 buffers per fetch at 869,000 open;
 * 150 ms and 4,400 buffers as keyed lookups).
 *
 * So the fetch runs on connections of its own whose planner may not choose a bitmap scan, a
 * sequential scan, a sort, a hash or a merge join: every part of the folded fetch (the jobs in index
 * order, then keyed lookups of their rows, operations and bulks) is then planned as the index walk
 * it is. Handlers' transactions keep the default planner.
 */
import pg from 'pg';
import type { Pool } from '../db/pool.ts';

/** Server options of the fetch connections (libpq `options`). */
export const FETCH_PLANNER_OPTIONS =
  '-c enable_bitmapscan=off -c enable_seqscan=off -c enable_sort=off -c enable_hashjoin=off -c enable_mergejoin=off';

/**
 * A pool of `max` connections to `pool`'s database, with its bounds and credentials, whose planner
 * walks indexes in order ({@link FETCH_PLANNER_OPTIONS}).
 */
export function fetchPool(pool: Pool, max: number): Pool {
  const base = pool.options;
  const fetching = new pg.Pool({
    ...base,
    // Not enumerable on pg-pool's copy of the options, so not carried by the spread.
    password: base.password,
    max,
    min: 0,
    application_name: `${base.application_name ?? 'magento-async'}:fetch`,
    options: [base.options, FETCH_PLANNER_OPTIONS].filter(Boolean).join(' '),
  });
  // As createPool: a dropped connection must not crash the process (the fetch in flight fails).
  fetching.on('error', () => {});
  fetching.on('connect', (client) => client.on('error', () => {}));
  return fetching;
}
