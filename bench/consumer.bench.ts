/**
 * End-to-end consumer throughput on no-op operations, beside a raw pg-boss fetch/complete loop on
 * the same number of equivalent jobs in the same run (same batch size, same concurrency), plus the
 * process RSS sampled while the consumer runs.
 *
 *   npx node bench/consumer.bench.ts [operations=100000] [concurrency=4] [batchSize=100]
 */
import { createTestDatabase } from '../test/support/db.ts';
import { seedBulk, silentLog } from '../test/consumer/seed.ts';
import { analyzeJobs, createBoss, ensureQueues } from '../src/queue/boss.ts';
import { startConsumer } from '../src/consumer/consumer.ts';
import { ident } from '../src/db/pool.ts';

const N = Number(process.argv[2] ?? 100_000);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const BATCH = Number(process.argv[4] ?? 100);
const RAW_QUEUE = 'bench.raw';

const db = await createTestDatabase('bench_consumer');
const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, max: 20 });
try {
  await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 600 });
  await boss.createQueue(RAW_QUEUE, { retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: 600 });

  let t = performance.now();
  const bulk = await seedBulk(db.pool, boss, db.schema, { count: N, operationId: 'Noop' });
  for (let i = 0; i < N; i += 10_000) {
    const jobs = Array.from({ length: Math.min(10_000, N - i) }, (_, j) => ({ data: { bulk, key: i + j } }));
    await boss.insert(RAW_QUEUE, jobs);
  }
  await analyzeJobs(db.pool, db.bossSchema);
  await db.pool.query(`ANALYZE ${ident(db.schema)}.operation`);
  console.log(`load: ${N} operations + ${N} raw jobs in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Baseline: what pg-boss alone does with these jobs.
  t = performance.now();
  let rawDone = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const jobs = await boss.fetch(RAW_QUEUE, { batchSize: BATCH });
        if (!jobs.length) return;
        await boss.complete(RAW_QUEUE, jobs);
        rawDone += jobs.length;
      }
    }),
  );
  const rawSeconds = (performance.now() - t) / 1000;
  const rawRate = rawDone / rawSeconds;

  const rss: number[] = [];
  const sample = setInterval(() => rss.push(process.memoryUsage().rss), 250);
  t = performance.now();
  const consumer = await startConsumer({
    pool: db.pool,
    boss,
    schema: db.schema,
    registry: { invoke: async (operationId) => ({ result: null, handler: `Bench_Noop::${operationId}` }) },
    queues: ['async.products'],
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    maxMessages: N,
    log: silentLog,
  });
  await consumer.done;
  const seconds = (performance.now() - t) / 1000;
  clearInterval(sample);
  const rate = consumer.handled() / seconds;

  const { rows } = await db.pool.query(
    `SELECT status, count(*)::int AS n FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1 GROUP BY status`,
    [bulk],
  );
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  console.log(
    `raw pg-boss fetch/complete: ${rawDone} jobs in ${rawSeconds.toFixed(2)} s = ${rawRate.toFixed(0)} jobs/s`,
  );
  console.log(
    `consumer end-to-end:        ${consumer.handled()} operations in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} ops/s`,
  );
  console.log(`ratio: ${(rate / rawRate).toFixed(2)}x (goal >= 0.8x); statuses ${JSON.stringify(rows)}`);
  console.log(
    `worker RSS MiB over the run (${rss.length} samples): first ${mb(rss[0] ?? 0)}, max ${mb(Math.max(...rss))}, ` +
      `mean of first quarter ${mb(rss.slice(0, quarter).reduce((a, b) => a + b, 0) / quarter)}, ` +
      `mean of last quarter ${mb(rss.slice(-quarter).reduce((a, b) => a + b, 0) / quarter)}, last ${mb(rss.at(-1) ?? 0)}`,
  );
} finally {
  await boss.stop({ graceful: false });
  await db.drop();
}
