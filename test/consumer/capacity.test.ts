/**
 * A consumer claims no more operations than it can start now: its free handler slots, and for
 * operations forwarded to an upstream, that upstream's free slots. So a handler's deadline and an
 * operation's lease never run while it waits its turn, and a slow upstream behind a small
 * `upstream.maxInFlight` never sees a call twice (issue 20: 98 of 598 calls were repeats).
 * Driven as an operator runs it: `queue:consumers:start` with a config file, against a loopback
 * store that answers in 300 ms.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { consumerConfig, startConsumerCommand, type ConsumerCommand } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';
import { ident } from '../../src/db/pool.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { seedBulk, statusCounts, waitFor } from './seed.ts';
import { cancelOn } from '../../src/operations/cancel.ts';
import { retriedOnLockConflict } from '../../src/operations/status.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { loopbackStore } from '../plugins-shipped/http-forward/store.ts';

/**
 * The handlers' deadline in these tests: below the longest wait for a slot (each test's queue of
 * calls takes 3 s or more to drain), so a deadline that ran while an operation waited its turn
 * would fire; well above one call (300-400 ms), which a machine at load 28 stretched past 1 s.
 */
const DEADLINE_SECONDS = 2;

/** How often a wait of seconds looks again: each look is a query (about 0.6 ms of this process's CPU and PostgreSQL's). */
const POLL_MS = 100;

/**
 * A test schema and its pg-boss with `entities`' queues, both gone when the test ends, and `consume`,
 * which starts the test's consumer command: its process group is killed first, since hooks run in
 * the order they were added and a schema is not dropped under a consumer still working in it (a
 * failed test hung there, its consumer alive, until killed by hand).
 */
async function setUp(t: TestContext, name: string, entities: string[]) {
  const db = await createTestDatabase(name);
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  const commands: ConsumerCommand[] = [];
  t.after(async () => {
    for (const c of commands) await c.kill();
    await boss.stop({ graceful: false });
    await db.drop();
  });
  await ensureQueues(boss, entities);
  const consume = (configFile: string, args: string[]) => {
    const command = startConsumerCommand(t, db, configFile, args);
    commands.push(command);
    return command;
  };
  return { db, boss, consume };
}

test('slow upstream calls behind a 4-slot upstream, a 2 s handler deadline: every call made once, no deadline spent waiting', async (t) => {
  const store = await loopbackStore(t, { latencyMs: 300 });
  const { db, boss, consume } = await setUp(t, 'capacity', ['products']);
  const count = 60;
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count,
    // One no plugin implements: it goes to the upstream.
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `cap-${k}`, entry: { media_type: 'image', label: `cap-${k}` } }),
  });
  const consumer = consume(
    consumerConfig(t, db, {
      upstream: { baseUrl: store.baseUrl, maxInFlight: 4 },
      consumer: { handlerTimeoutSeconds: DEADLINE_SECONDS, concurrency: 8, expireInSeconds: 10 },
    }),
    ['queue:consumers:start', 'products'],
  );
  await waitFor(
    async () => (await statusCounts(db.pool, db.schema, bulk))[1] === count,
    60_000,
    'every operation to complete',
    POLL_MS,
  );
  consumer.signal('SIGTERM');
  assert.equal(await consumer.exited, 0, consumer.stderr());
  const perOperation = new Map<string, number>();
  for (const c of store.calls)
    perOperation.set(String(c.idempotencyKey), (perOperation.get(String(c.idempotencyKey)) ?? 0) + 1);
  assert.equal(perOperation.size, count);
  assert.deepEqual(
    [...perOperation].filter(([, n]) => n > 1),
    [],
    'upstream calls made more than once',
  );
  assert.equal(store.peakInFlight(), 4);
  assert.doesNotMatch(consumer.stderr(), /did not finish within/);
});

test("waits for the upstream's calls-per-second cap and its Retry-After do not count against the handler deadline", async (t) => {
  // The first call is told to come back in 2 s (Retry-After): every call waits that out, and at
  // 2 calls a second the last of 10 starts ~5 s in, far past the 2 s handler deadline.
  const store = await loopbackStore(t, {
    latencyMs: 20,
    answer: (call) =>
      call.url.includes('/rate-0/') && store.calls.filter((c) => c.url.includes('/rate-0/')).length === 1
        ? { status: 429, headers: { 'Retry-After': '2' }, body: { message: 'Too many requests' } }
        : undefined,
  });
  const { db, boss, consume } = await setUp(t, 'capacity_rate', ['products']);
  const count = 10;
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count,
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `rate-${k}`, entry: { media_type: 'image', label: `rate-${k}` } }),
  });
  const consumer = consume(
    consumerConfig(t, db, {
      upstream: { baseUrl: store.baseUrl, maxInFlight: 16, maxPerSecond: 2 },
      consumer: { handlerTimeoutSeconds: DEADLINE_SECONDS, concurrency: 1, retryDelaySeconds: 1 },
    }),
    ['queue:consumers:start', 'products'],
  );
  await waitFor(
    async () => (await statusCounts(db.pool, db.schema, bulk))[1] === count,
    60_000,
    'every operation to complete',
    POLL_MS,
  );
  consumer.signal('SIGTERM');
  assert.equal(await consumer.exited, 0, consumer.stderr());
  assert.doesNotMatch(consumer.stderr(), /did not finish within/);
  const { rows } = await db.pool.query<{ operation_key: number; attempts: number }>(
    `SELECT operation_key, attempts FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1 AND attempts > 1`,
    [bulk],
  );
  // Only the one told to come back (rate-0) ran twice.
  assert.deepEqual(rows, [{ operation_key: 0, attempts: 2 }]);
  assert.equal(store.calls.length, count + 1);
});

test('async.operations.all with forwarded and local queues: the forwarded queue claims by upstream slots, the local one by handler slots and is never held back', async (t) => {
  const store = await loopbackStore(t, { latencyMs: 400 });
  const { db, boss, consume } = await setUp(t, 'capacity_mixed', ['products', 'customers']);
  const forwarded = 16;
  const local = 30;
  const products = await seedBulk(db.pool, boss, db.schema, {
    count: forwarded,
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `mixed-${k}`, entry: { media_type: 'image', label: `mixed-${k}` } }),
  });
  const customers = await seedBulk(db.pool, boss, db.schema, {
    count: local,
    entity: 'customers',
    operationId: 'PostV1Customers',
    topic: 'async.V1.customers.POST',
    args: (k) => ({ customer: { email: `mixed-${k}@example.com`, firstname: 'Mixed', lastname: `No${k}` } }),
  });
  const consumer = consume(
    consumerConfig(t, db, {
      plugins: { examples: ['customer'] },
      upstream: { baseUrl: store.baseUrl, maxInFlight: 2 },
      consumer: { handlerTimeoutSeconds: DEADLINE_SECONDS, concurrency: 2 },
    }),
    ['queue:consumers:start', 'async.operations.all'],
  );
  // The local bulk is done while the forwarded one still waits for the upstream's two slots.
  await waitFor(
    async () => (await statusCounts(db.pool, db.schema, customers))[1] === local,
    60_000,
    'every local operation to complete',
  );
  const productsThen = await statusCounts(db.pool, db.schema, products);
  assert.ok((productsThen[4] ?? 0) > 0, `forwarded operations still open (${JSON.stringify(productsThen)})`);
  await waitFor(
    async () => (await statusCounts(db.pool, db.schema, products))[1] === forwarded,
    60_000,
    'every forwarded operation to complete',
    POLL_MS,
  );
  consumer.signal('SIGTERM');
  assert.equal(await consumer.exited, 0, consumer.stderr());
  assert.doesNotMatch(consumer.stderr(), /did not finish within/);
  assert.equal(store.calls.length, forwarded, 'each forwarded operation called the upstream once');
  assert.equal(new Set(store.calls.map((c) => c.idempotencyKey)).size, forwarded);
  assert.equal(store.peakInFlight(), 2);
});

test('a cancel stops every forwarded operation not yet sent: none is waiting for an upstream slot with its claim', async (t) => {
  const store = await loopbackStore(t, { latencyMs: 300 });
  const { db, boss, consume } = await setUp(t, 'capacity_cancel', ['products']);
  const count = 60;
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count,
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `cancel-${k}`, entry: { media_type: 'image', label: `cancel-${k}` } }),
  });
  const consumer = consume(
    consumerConfig(t, db, {
      upstream: { baseUrl: store.baseUrl, maxInFlight: 4 },
      consumer: { concurrency: 8 },
    }),
    ['queue:consumers:start', 'products'],
  );
  await waitFor(async () => store.calls.length >= 8, 60_000, 'the consumer to get going');
  // As the cancel endpoint runs it: the consumer's commits lock jobs in an order that may cross the
  // cancel's, and a deadlock that picks the cancel runs it again (a bare transaction failed here).
  const canceled = await retriedOnLockConflict(
    () => withTransaction(db.pool, (c) => cancelOn(c, db.schema, db.bossSchema, bulk)),
    () => {},
  );
  const at = performance.now();
  assert.ok(canceled > 0);
  await waitFor(
    async () => {
      const c = await statusCounts(db.pool, db.schema, bulk);
      return (c[4] ?? 0) === 0;
    },
    30_000,
    'the bulk to finish',
    POLL_MS,
  );
  // Those in flight when the cancel came finish (at most the store's 4 slots); nothing else is sent.
  const late = store.calls.filter((c) => c.at > at + 200);
  assert.deepEqual(
    late.map((c) => c.idempotencyKey),
    [],
    'calls sent after the cancel',
  );
  const counts = await statusCounts(db.pool, db.schema, bulk);
  assert.equal((counts[1] ?? 0) + (counts[3] ?? 0), count);
  assert.equal(counts[1], store.calls.length, 'each call sent is a completed operation');
  consumer.signal('SIGTERM');
  assert.equal(await consumer.exited, 0, consumer.stderr());
});
