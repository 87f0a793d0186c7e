/**
 * Operations that wait for what they reference (src/operations/requires.ts), against the same bulk
 * with no `requires`, in the same run:
 * - baseline: N keyed operations (each its own sku), no `requires` declared;
 * - declared, nothing required: `requires` returns [] (the cost of reading it);
 * - dependency-heavy, children first: 3/4 of the bulk are children listed before their parents,
 *   each requiring one of the parents (three children per parent): most children wait and are
 *   woken by their parent's outcome;
 * - dependency-heavy, parents first: the same requirements, parents listed first.
 *
 *   npx node bench/requires.bench.ts [operations=2000] [rounds=3]
 *
 * One consumer (default batch size and concurrency) with a transactional handler (one INSERT via
 * ctx.tx); every measurement gets a bulk of its own, ANALYZEd before its clock starts; sides
 * alternate per round and each ratio is of summed times. Print `uptime` beside the figures.
 */
import { createTestDatabase } from '../test/support/db.ts';
import { seedBulk, silentLog } from '../test/consumer/seed.ts';
import { analyzeJobs, createBoss, ensureQueues } from '../src/queue/boss.ts';
import { startConsumer, type ConsumerOptions } from '../src/consumer/consumer.ts';
import { ident } from '../src/db/pool.ts';
import { orderRules, saveOrderRules } from '../src/operations/order-keys.ts';
import type { OperationInvoker } from '../src/consumer/invoker.ts';
import type { Requires } from '../src/kernel/requirement.ts';
import { compareSides } from './support/compare.ts';

const N = Number(process.argv[2] ?? 2000);
const ROUNDS = Math.max(1, Number(process.argv[3] ?? 3));

const db = await createTestDatabase('bench_requires');
const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, max: 10 });
const s = ident(db.schema);
try {
  await db.pool.query(`CREATE TABLE ${s}.bench_effect (sku text NOT NULL)`);
  await ensureQueues(boss, ['bench'], { heartbeatSeconds: null, expireInSeconds: 600 });
  await saveOrderRules(
    db.pool,
    db.schema,
    orderRules([{ operationId: 'Op', entity: 'bench', pathParams: ['sku'] }], new Map()),
  );

  const registry: OperationInvoker = {
    async invoke(operationId, args, ctx) {
      await ctx.tx.query(`INSERT INTO bench_effect (sku) VALUES ($1)`, [(args as { sku: string }).sku]);
      return { result: null, handler: `Bench::${operationId}` };
    },
  };
  interface Item {
    sku: string;
    parent?: string;
  }
  const requiresParent: Requires<Item> = (args) => (args.parent ? [{ entity: 'bench', key: args.parent }] : []);
  const nothing: Requires<Item> = () => [];
  const dependencies = (requires: Requires<Item>): Partial<ConsumerOptions> => ({
    dependencies: { requiresOf: () => [requires], waitLimitSeconds: 3600 },
  });

  let bulks = 0;
  /** A bulk of `n`: a quarter parents, the rest children of them (three each), in the given order. */
  const items = (n: number, childrenFirst: boolean): Item[] => {
    const b = bulks++;
    const parents = Math.ceil(n / 4);
    const children = Array.from({ length: n - parents }, (_, i) => ({
      sku: `${b}-c${i}`,
      parent: `${b}-p${i % parents}`,
    }));
    const ps = Array.from({ length: parents }, (_, i) => ({ sku: `${b}-p${i}` }));
    return childrenFirst ? [...children, ...ps] : [...ps, ...children];
  };

  /** ms to consume a fresh bulk with these options. */
  const measure = async (list: Item[], options: Partial<ConsumerOptions>) => {
    await seedBulk(db.pool, boss, db.schema, {
      count: list.length,
      entity: 'bench',
      operationId: 'Op',
      args: (k) => list[k],
    });
    await analyzeJobs(db.pool, db.bossSchema);
    await db.pool.query(`ANALYZE ${s}.operation`);
    const start = performance.now();
    const consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      registry,
      queues: ['async.bench'],
      maxMessages: list.length,
      deadLetter: false,
      log: silentLog,
      ...options,
    });
    await consumer.done;
    const ms = performance.now() - start;
    if (consumer.handled() !== list.length) throw new Error(`handled ${consumer.handled()} of ${list.length}`);
    return ms;
  };

  const sides = [
    { label: 'no requires (baseline)', run: () => measure(items(N, true), {}) },
    { label: 'requires declared, nothing required', run: () => measure(items(N, true), dependencies(nothing)) },
    { label: '3/4 require a parent, children first', run: () => measure(items(N, true), dependencies(requiresParent)) },
    { label: '3/4 require a parent, parents first', run: () => measure(items(N, false), dependencies(requiresParent)) },
  ];
  await measure(items(400, true), dependencies(requiresParent)); // warm-up
  await compareSides('requires', N, ROUNDS, sides);
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.bench_effect`);
  console.log(`effects written: ${rows[0].n} (expected ${400 + N * ROUNDS * sides.length})`);
} finally {
  await boss.stop({ graceful: false });
  await db.drop();
}
