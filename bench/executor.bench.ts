/**
 * The batch executor on real work, each side beside its baseline in the same run:
 * - a transactional handler (one INSERT through ctx.tx per operation): a commit per operation, one
 *   handler at a time (the executor before shared transactions: `shareTransactions: false`,
 *   `inFlight: 1`) against the batch's shared transaction at the default `inFlight`;
 * - an I/O-bound handler (a 20 ms wait, standing in for an upstream call): `inFlight` 1 against
 *   several values, to choose the default.
 *
 *   npx node bench/executor.bench.ts [txOperations=5000] [ioOperations=1000] [rounds=3] [inFlights=4,8,16,32]
 *
 * Every measurement gets a bulk of its own, seeded and ANALYZEd before its clock starts, on the
 * same queue policy, one consumer with the default batch size and concurrency; sides alternate per
 * round (the machine is shared, its load drifts), and each ratio is of summed times.
 */
import { createTestDatabase } from '../test/support/db.ts';
import { seedBulk, silentLog } from '../test/consumer/seed.ts';
import { analyzeJobs, createBoss, ensureQueues } from '../src/queue/boss.ts';
import { configDefaults } from '../src/config.ts';
import { startConsumer, type ConsumerOptions } from '../src/consumer/consumer.ts';
import { ident } from '../src/db/pool.ts';
import type { OperationInvoker } from '../src/consumer/invoker.ts';
import { compareSides } from './support/compare.ts';

const TX_N = Number(process.argv[2] ?? 5000);
const IO_N = Number(process.argv[3] ?? 1000);
const ROUNDS = Math.max(1, Number(process.argv[4] ?? 3));
const IN_FLIGHTS = (process.argv[5] ?? '4,8,16,32').split(',').map(Number);

const db = await createTestDatabase('bench_executor');
const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, max: 10 });
const s = ident(db.schema);
try {
  await db.pool.query(`CREATE TABLE ${s}.bench_effect (sku text NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
  await ensureQueues(boss, ['bench'], { heartbeatSeconds: null, expireInSeconds: 600 });

  const transactional: OperationInvoker = {
    async invoke(operationId, args, ctx) {
      await ctx.tx.query(`INSERT INTO bench_effect (sku) VALUES ($1)`, [(args as { sku: string }).sku]);
      return { result: null, handler: `Bench::${operationId}` };
    },
  };
  const io: OperationInvoker = {
    async invoke(operationId) {
      await new Promise((r) => setTimeout(r, 20));
      return { result: null, handler: `Bench::${operationId}` };
    },
  };

  /** ms to consume a fresh bulk of `n` operations with these options. */
  const measure = async (n: number, registry: OperationInvoker, options: Partial<ConsumerOptions>) => {
    await seedBulk(db.pool, boss, db.schema, { count: n, entity: 'bench', operationId: 'Op' });
    await analyzeJobs(db.pool, db.bossSchema);
    await db.pool.query(`ANALYZE ${s}.operation`);
    const start = performance.now();
    const consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      registry,
      queues: ['async.bench'],
      maxMessages: n,
      deadLetter: false,
      log: silentLog,
      ...options,
    });
    await consumer.done;
    const ms = performance.now() - start;
    if (consumer.handled() !== n) throw new Error(`handled ${consumer.handled()} of ${n}`);
    return ms;
  };

  // Warm-up: connections, prepared statements, JIT.
  await measure(500, transactional, {});
  await measure(200, io, {});

  await compareSides('transactional handler (one INSERT via ctx.tx)', TX_N, ROUNDS, [
    {
      label: 'a commit per operation, inFlight 1',
      run: () => measure(TX_N, transactional, { shareTransactions: false, inFlight: 1 }),
    },
    {
      label: `shared batch transaction, inFlight ${configDefaults.consumer.inFlight}`,
      run: () => measure(TX_N, transactional, {}),
    },
    {
      label: 'shared batch transaction, inFlight 1',
      run: () => measure(TX_N, transactional, { inFlight: 1 }),
    },
  ]);
  await compareSides('I/O handler (20 ms wait)', IO_N, ROUNDS, [
    { label: 'inFlight 1', run: () => measure(IO_N, io, { inFlight: 1 }) },
    ...IN_FLIGHTS.map((f) => ({ label: `inFlight ${f}`, run: () => measure(IO_N, io, { inFlight: f }) })),
  ]);
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.bench_effect`);
  console.log(`effects written: ${rows[0].n} (expected ${500 + TX_N * ROUNDS * 3})`);
} finally {
  await boss.stop({ graceful: false });
  await db.drop();
}
