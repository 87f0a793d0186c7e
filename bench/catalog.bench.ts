/**
 * The shipped catalog plugin through the real consumer — its single handlers, and its batch
 * handlers — beside a no-op plugin on the same operations, in the same run:
 *
 *   npx node bench/catalog.bench.ts [creates=20000] [updates=5000] [rounds=4] [updateConcurrencies=1,4]
 *
 * - creates: `creates` product creations (PostV1Products, Magento's bulk body products), in
 *   1,000-item bulks, every sku distinct;
 * - updates: `updates` PUTs of the same 100 skus again and again, in 100-item bulks that each
 *   update every one of them once (ordered per sku, so a sku's next update waits for its last).
 * One consumer with the default settings (batch size 100, concurrency 4); the updates run once per
 * entry of `updateConcurrencies` (default one loop, then the default 4). With several loops, loops
 * fetch deliveries of skus another loop is still saving and put them off; before such a put-off job
 * was made runnable by the outcome it waited behind (lifecycle.ts `wakeWaiting`), the put-off backoff
 * (1–30 s) set the pace whatever the plugin (measured: no-op, single and batch alike at ~6 ops/s).
 * One loop fetches a bulk's 100 updates only after the bulk before is final. Each side has its own
 * queue and skus, seeded up front by the real accept transaction; the sides take turns in rounds
 * (the order rotating), each round timed from the consumer's start until its bulks are finished.
 * Ratios are of summed times, plus the median and spread of the per-round ratios.
 * With EMBEDDED=1 it runs on a PostgreSQL of its own (var/bench-postgres, durable settings), away
 * from the connections and locks of whatever else shares the default server.
 */
import os from 'node:os';
import type { PgBoss } from 'pg-boss';
import catalog, * as catalogModule from '../examples/catalog/index.ts';
import { startConsumer } from '../src/consumer/consumer.ts';
import type { OperationInvoker } from '../src/consumer/invoker.ts';
import { orderRules, saveOrderRules } from '../src/operations/order-keys.ts';
import { ident } from '../src/db/pool.ts';
import { startEmbeddedPostgres } from '../src/dev/embedded.ts';
import { definePlugin } from '../src/plugin.ts';
import { loadPlugins, runInstalls } from '../src/plugins/loader.ts';
import { pluginSchema } from '../src/plugins/migrations.ts';
import { analyzeJobs, createBoss, ensureQueues } from '../src/queue/boss.ts';
import { route } from '../test/plugins/fixtures.ts';
import { createTestDatabase } from '../test/support/db.ts';
import { seedBulk, silentLog } from '../test/consumer/seed.ts';
import { product } from './support/bodies.ts';

const CREATES = Number(process.argv[2] ?? 20_000);
const UPDATES = Number(process.argv[3] ?? 5_000);
const ROUNDS = Math.max(1, Number(process.argv[4] ?? 4));
/** Fetch loops of the updates scenario, one case each (comma-separated): one loop and the default 4. */
const UPDATE_CONCURRENCIES = String(process.argv[5] ?? '1,4')
  .split(',')
  .map((c) => Math.max(1, Number(c)));
const BULK = 1_000;
const HOT_SKUS = 100;

const routes = [
  route('POST', '/V1/products', 'PostV1Products'),
  route('PUT', '/V1/products/{sku}', 'PutV1ProductsSku'),
  route('DELETE', '/V1/products/{sku}', 'DeleteV1ProductsSku'),
];
type Side = 'noop' | 'single' | 'batch';
const SIDES: Side[] = ['noop', 'single', 'batch'];

const embedded = process.env.EMBEDDED === '1' ? await startEmbeddedPostgres({ dataDir: 'var/bench-postgres' }) : null;
if (embedded) process.env.DATABASE_URL = embedded.url;
const db = await createTestDatabase('bench_catalog');
const s = ident(db.schema);
const boss: PgBoss = await createBoss({ connectionString: db.url, schema: db.bossSchema, max: 20 });
try {
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    modules: [{ source: 'examples/catalog', module: { ...catalogModule, default: definePlugin(catalog) } }],
    frameworkVersion: '1.0.0',
  });
  await runInstalls(db.pool, db.schema, registry.installs);
  await saveOrderRules(db.pool, db.schema, orderRules(routes, registry.orderKeys));
  const invokers: Record<Side, OperationInvoker> = {
    noop: { invoke: async (operationId) => ({ result: null, handler: `Bench_Noop::${operationId}` }) },
    // The same registry without its batch lookup: every operation through its single handler.
    single: { invoke: (operationId, args, ctx) => registry.invoke(operationId, args, ctx) },
    batch: registry,
  };
  await ensureQueues(
    boss,
    SIDES.map((side) => `bench_${side}`),
    { heartbeatSeconds: null, expireInSeconds: 600 },
  );

  /**
   * Seeds one round's bulks of every side, just before the round runs: a side's queue holds only
   * what the round measures, so its consumer cannot get ahead into the next round's work.
   */
  interface Scenario {
    title: string;
    count: number;
    size: number;
    operationId: string;
    concurrency: number;
    args: (side: Side, i: number) => unknown;
  }
  let seedMs = 0;
  const seedRound = async (sc: Scenario, r: number): Promise<Record<Side, string[]>> => {
    const t = performance.now();
    const bulks = Math.ceil(sc.count / sc.size);
    const work = { noop: [], single: [], batch: [] } as Record<Side, string[]>;
    for (const side of SIDES) {
      for (let b = 0; b < bulks; b++) {
        if (Math.floor((b * ROUNDS) / bulks) !== r) continue;
        const uuid = await seedBulk(db.pool, boss, db.schema, {
          count: Math.min(sc.size, sc.count - b * sc.size),
          entity: `bench_${side}`,
          operationId: sc.operationId,
          topic: sc.operationId === 'PostV1Products' ? 'async.V1.products.POST' : 'async.V1.products.sku.PUT',
          storeCode: null,
          args: (key) => sc.args(side, b * sc.size + key),
        });
        work[side].push(uuid);
      }
    }
    await analyzeJobs(db.pool, db.bossSchema);
    await db.pool.query(`ANALYZE ${s}.operation, ${s}.bulk, ${s}.operation_order`);
    seedMs += performance.now() - t;
    return work;
  };
  const loadAverage = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`load average at the start ${loadAverage()}`);

  /** Runs one side's bulks to the end: ms from the consumer's start until none is unfinished. */
  const run = async (side: Side, bulks: string[], concurrency: number): Promise<number> => {
    const start = performance.now();
    const consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      registry: invokers[side],
      searchPath: registry.searchPath(db.schema),
      queues: [`async.bench_${side}`],
      concurrency,
      log: silentLog,
    });
    for (;;) {
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${s}.operation WHERE bulk_uuid = ANY($1::uuid[]) AND (status = 4 OR will_retry)`,
        [bulks],
      );
      if (rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = performance.now() - start;
    await consumer.stop();
    return ms;
  };

  const scenarios: Scenario[] = [
    {
      title: 'creates',
      count: CREATES,
      size: BULK,
      operationId: 'PostV1Products',
      concurrency: 4,
      args: (side, i) => ({ product: { ...product(i), sku: `${side}-${i}` } }),
    },
    ...UPDATE_CONCURRENCIES.map((concurrency) => ({
      title: `updates of the same 100 skus (concurrency ${concurrency})`,
      count: UPDATES,
      size: HOT_SKUS,
      operationId: 'PutV1ProductsSku',
      concurrency,
      args: (side: Side, i: number) => ({
        sku: `${side}-hot-${i % HOT_SKUS}`,
        product: { name: `Hot ${i}`, price: 10 + (i % 50), status: 1, visibility: 4 },
      }),
    })),
  ];
  for (const sc of scenarios) {
    const { title, count } = sc;
    if (!count) continue;
    const total: Record<Side, number> = { noop: 0, single: 0, batch: 0 };
    const ratios: { single: number[]; batch: number[] } = { single: [], batch: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]!);
      const ms = { noop: 0, single: 0, batch: 0 } as Record<Side, number>;
      const work = await seedRound(sc, r);
      for (const side of order) ms[side] = await run(side, work[side], sc.concurrency);
      for (const side of SIDES) total[side] += ms[side];
      ratios.single.push(ms.noop / ms.single);
      ratios.batch.push(ms.noop / ms.batch);
      const n = (
        await db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${s}.operation WHERE bulk_uuid = ANY($1::uuid[])`,
          [work.noop],
        )
      ).rows[0]!.n;
      console.log(
        `${title} round ${r + 1} (${order.join(', ')}): ` +
          SIDES.map((side) => `${side} ${((n / ms[side]) * 1000).toFixed(0)} ops/s`).join(', '),
      );
    }
    const rate = (side: Side) => (count / total[side]) * 1000;
    const spread = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)}x, rounds ${sorted[0]!.toFixed(3)}–${sorted.at(-1)!.toFixed(3)}x`;
    };
    console.log(`${title}: ${count} operations per side`);
    console.log(`  no-op plugin:          ${rate('noop').toFixed(0)} ops/s (baseline)`);
    console.log(
      `  catalog, single path:  ${rate('single').toFixed(0)} ops/s = ${(rate('single') / rate('noop')).toFixed(3)}x no-op (${spread(ratios.single)})`,
    );
    console.log(
      `  catalog, batch path:   ${rate('batch').toFixed(0)} ops/s = ${(rate('batch') / rate('noop')).toFixed(3)}x no-op (${spread(ratios.batch)}); ` +
        `${(rate('batch') / rate('single')).toFixed(2)}x the single path`,
    );
  }

  // Every operation of every side finished, and succeeded.
  const { rows } = await db.pool.query(
    `SELECT status, count(*)::int AS n FROM ${s}.operation GROUP BY status ORDER BY status`,
  );
  const products = await db.pool.query(
    `SELECT count(*)::int AS n FROM ${ident(pluginSchema(db.schema, 'Magento_Catalog'))}.catalog_product`,
  );
  console.log(`statuses ${JSON.stringify(rows)}; catalog products ${products.rows[0].n} (2 × (creates + 100))`);
  console.log(`seeding (not timed) ${(seedMs / 1000).toFixed(1)} s; load average at the end ${loadAverage()}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await boss.stop({ graceful: false });
  await db.drop().catch((error: unknown) => console.error('dropping the bench schemas failed:', error));
  await embedded?.stop();
}
