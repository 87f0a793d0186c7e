/**
 * Bulk retention against accepts: does the sweep of a million finished operations ever hold a lock
 * an accept waits on, and what does it cost accepts meanwhile? Same run, same server:
 *
 *   1. load: `operations` operations in bulks of `bulkSize`, accepted by the real accept
 *      transaction and finished by a real consumer (a no-op handler), so pg-boss holds their
 *      completed jobs as it would for a week;
 *   2. accepts alone: `clients` clients sending single-item async PUTs for `seconds` (baseline);
 *   3. the same accepts while the sweep (the server's own, with its clock moved past bulkDays)
 *      deletes every one of those bulks with their jobs;
 *   4. accepts alone again (baseline, for drift).
 * A sampler looks at pg_stat_activity every 10 ms for accept connections waiting on a lock and keeps
 * the longest wait seen (from the statement's start, so an over-estimate), in all and on a lock
 * the sweep's connections hold (pg_blocking_pids): accepts wait on each other too (group commit,
 * relation extension), which is no business of the sweep.
 *
 *   npm run bench:retention -- [operations=1000000] [bulkSize=1000] [clients=8] [seconds=15]
 *   npm run bench:retention -- 20000        (development size)
 */
import { cpus, loadavg } from 'node:os';
import { configDefaults } from '../src/config.ts';
import { createPool, ident } from '../src/db/pool.ts';
import { startConsumer } from '../src/consumer/consumer.ts';
import { analyzeJobs, createBoss } from '../src/queue/boss.ts';
import { sweepExpiredBulks, type RetentionSweep } from '../src/retention/bulks.ts';
import { mapInvoker } from '../test/consumer/invokers.ts';
import { seedBulk, silentLog, waitFor } from '../test/consumer/seed.ts';
import { startTestServer } from '../test/support/server.ts';
import { singleBody } from './support/bodies.ts';

const OPERATIONS = Number(process.argv[2] ?? 1_000_000);
const BULK = Number(process.argv[3] ?? 1000);
const CLIENTS = Number(process.argv[4] ?? 8);
const SECONDS = Number(process.argv[5] ?? 15);
const BULK_DAYS = 60;
const ACCEPT_APP = 'magento-async:serve';

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
console.log(`retention bench: ${OPERATIONS} operations in bulks of ${BULK}; ${cpus().length} cores; load ${load()}`);

// The server's own sweeper stays off: the bench runs the sweep itself, with a moved clock.
const server = await startTestServer('bench_retention', { retention: { bulkDays: null } });
// The sweep on connections of its own, so the sampler can tell who an accept waits for.
const SWEEP_APP = 'magento-async:retention';
const sweepPool = createPool({ connectionString: server.db.url, max: 2, applicationName: SWEEP_APP });
const sweepBoss = await createBoss({
  connectionString: server.db.url,
  schema: server.db.bossSchema,
  max: 2,
  applicationName: SWEEP_APP,
});
const s = ident(server.db.schema);
try {
  // ---- 1. load ---------------------------------------------------------------------------------
  let t = performance.now();
  for (let done = 0; done < OPERATIONS; done += BULK) {
    await seedBulk(server.db.pool, server.boss, server.db.schema, { count: Math.min(BULK, OPERATIONS - done) });
  }
  await analyzeJobs(server.db.pool, server.db.bossSchema);
  console.log(`accepted ${OPERATIONS} operations in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const consumer = await startConsumer({
    pool: server.db.pool,
    boss: server.boss,
    schema: server.db.schema,
    registry: mapInvoker({ PutV1ProductsSku: () => null }),
    queues: ['async.products'],
    batchSize: 100,
    concurrency: 4,
    log: silentLog,
  });
  await waitFor(
    async () => {
      const { rows } = await server.db.pool.query<{ open: number }>(
        `SELECT coalesce(sum(open + retrying), 0)::int AS open FROM ${s}.bulk_counter`,
      );
      return rows[0]!.open === 0;
    },
    3_600_000,
    'every operation to finish',
  );
  await consumer.stop();
  console.log(`finished them in ${((performance.now() - t) / 1000).toFixed(1)} s (real consumer, no-op handler)`);
  await server.db.pool.query(`VACUUM ANALYZE ${s}.operation, ${s}.bulk, ${s}.bulk_counter`);
  await analyzeJobs(server.db.pool, server.db.bossSchema);
  const { rows: counted } = await server.db.pool.query<{ jobs: number }>(
    `SELECT count(*)::int AS jobs FROM ${ident(server.db.bossSchema)}.job WHERE name = 'async.products'`,
  );
  console.log(`pg-boss holds ${counted[0]!.jobs} jobs of them`);

  // ---- accepts, with a lock-wait sampler ------------------------------------------------------
  interface Phase {
    latencies: number[];
    seconds: number;
    /** Longest wait of an accept on a lock, whoever held it. */
    maxLockWaitMs: number;
    /** Longest wait of an accept on a lock the sweep held. */
    maxSweepWaitMs: number;
  }
  let sequence = 0;
  async function accepts(until: () => boolean, minSeconds: number): Promise<Phase> {
    const latencies: number[] = [];
    let maxLockWaitMs = 0;
    let maxSweepWaitMs = 0;
    const started = performance.now();
    let sampling = true;
    const sampler = (async () => {
      const client = await sweepPool.connect();
      try {
        while (sampling) {
          const { rows } = await client.query<{ ms: number | null; sweep: number | null }>(
            `SELECT max(w.ms) AS ms, max(w.ms) FILTER (WHERE w.by_sweep) AS sweep FROM (
               SELECT extract(epoch FROM clock_timestamp() - a.query_start) * 1000 AS ms,
                 EXISTS (SELECT 1 FROM pg_stat_activity b
                         WHERE b.pid = ANY(pg_blocking_pids(a.pid)) AND b.application_name = $2) AS by_sweep
               FROM pg_stat_activity a WHERE a.application_name = $1 AND a.wait_event_type = 'Lock') w`,
            [ACCEPT_APP, SWEEP_APP],
          );
          maxLockWaitMs = Math.max(maxLockWaitMs, rows[0]!.ms ?? 0);
          maxSweepWaitMs = Math.max(maxSweepWaitMs, rows[0]!.sweep ?? 0);
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        client.release();
      }
    })();
    const done = () => performance.now() - started >= minSeconds * 1000 && until();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (!done()) {
          const i = sequence++;
          const begin = performance.now();
          const response = await fetch(`${server.url}/rest/default/async/V1/products/RETENTION-${i}`, {
            method: 'PUT',
            headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
            body: singleBody(i),
          });
          await response.text();
          if (response.status !== 202) throw new Error(`accept answered ${response.status}`);
          latencies.push(performance.now() - begin);
        }
      }),
    );
    sampling = false;
    await sampler;
    return { latencies, seconds: (performance.now() - started) / 1000, maxLockWaitMs, maxSweepWaitMs };
  }

  // ---- 2.–4. -----------------------------------------------------------------------------------
  const before = await accepts(() => true, SECONDS);
  let swept: RetentionSweep | null = null;
  let sweepSeconds = 0;
  const sweeping = (async () => {
    const begin = performance.now();
    swept = await sweepExpiredBulks({
      pool: sweepPool,
      boss: sweepBoss,
      schema: server.db.schema,
      bossSchema: server.db.bossSchema,
      bulkDays: BULK_DAYS,
      batchOperations: configDefaults.retention.batchOperations,
      log: silentLog,
      now: () => new Date(Date.now() + (BULK_DAYS + 1) * 86_400_000),
    });
    sweepSeconds = (performance.now() - begin) / 1000;
  })();
  const during = await accepts(() => swept !== null, 0);
  await sweeping;
  const after = await accepts(() => true, SECONDS);

  const result = swept as RetentionSweep | null;
  if (!result || result.operations < OPERATIONS) throw new Error(`the sweep deleted ${JSON.stringify(result)}`);
  const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
  const describe = (p: Phase) =>
    `${(p.latencies.length / p.seconds).toFixed(0)} req/s, p50 ${quantile(p.latencies, 0.5).toFixed(1)} ms, ` +
    `p99 ${quantile(p.latencies, 0.99).toFixed(1)} ms, max ${Math.max(...p.latencies).toFixed(1)} ms, ` +
    `longest lock wait ${p.maxLockWaitMs.toFixed(0)} ms (on the sweep ${p.maxSweepWaitMs.toFixed(0)} ms)`;
  const baseline = [...before.latencies, ...after.latencies];
  const baselineRate = (before.latencies.length + after.latencies.length) / (before.seconds + after.seconds);
  console.log(
    `sweep: ${result.bulks} bulks, ${result.operations} operations, ${result.jobs} pg-boss jobs in ` +
      `${sweepSeconds.toFixed(1)} s; ${result.transactions} transactions, the longest ${result.longestTransactionMs.toFixed(0)} ms`,
  );
  console.log(`accepts (${CLIENTS} clients, single-item async PUT):`);
  console.log(`  before the sweep: ${describe(before)}`);
  console.log(`  during the sweep: ${describe(during)}`);
  console.log(`  after the sweep:  ${describe(after)}`);
  console.log(
    `ratio during / baseline (before + after): p50 ${(quantile(during.latencies, 0.5) / quantile(baseline, 0.5)).toFixed(2)}×, ` +
      `p99 ${(quantile(during.latencies, 0.99) / quantile(baseline, 0.99)).toFixed(2)}×, ` +
      `throughput ${(during.latencies.length / during.seconds / baselineRate).toFixed(2)}×`,
  );
  const maxBlocking = during.maxSweepWaitMs;
  console.log(
    `max blocking: an accept waited on a lock the sweep held at most ${maxBlocking.toFixed(0)} ms ` +
      `(goal < 100 ms: ${maxBlocking < 100 ? 'met' : 'MISSED'}); the sweep held its locks at most ` +
      `${result.longestTransactionMs.toFixed(0)} ms (its longest transaction); accepts' longest lock wait on ` +
      `anything: ${during.maxLockWaitMs.toFixed(0)} ms during the sweep, ${Math.max(before.maxLockWaitMs, after.maxLockWaitMs).toFixed(0)} ms without it`,
  );
  console.log(`load average ${load()}`);
} finally {
  await sweepBoss.stop({ graceful: false });
  await sweepPool.end();
  await server.stop();
}
