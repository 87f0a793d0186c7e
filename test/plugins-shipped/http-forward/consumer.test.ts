/**
 * http-forward end to end: bulks accepted into the real database, run by the real consumer through
 * the shipped plugin, against a loopback store that counts what reaches it. Every test counts
 * lost (not status 1), run twice (a sku the store saw more often than it was asked to answer),
 * and checks the Idempotency-Key every call carried.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import * as forward from '../../../plugins/http-forward/index.ts';
import { startConsumer } from '../../../src/consumer/consumer.ts';
import { loadPlugins, type UpstreamConfig } from '../../../src/plugins/loader.ts';
import { createBoss, ensureQueues } from '../../../src/queue/boss.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { sampleRoutes } from '../../plugins/fixtures.ts';
import { seedBulk, silentLog, statusCounts, waitFor } from '../../consumer/seed.ts';
import { loopbackStore, type Call, type StoreOptions } from './store.ts';

let db: TestDatabase;
let boss: PgBoss;

before(async () => {
  db = await createTestDatabase('forward_consumer');
  boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 60 });
});
after(async () => {
  await boss.stop({ graceful: false });
  await db.drop();
});

interface Run {
  bulk: string;
  calls: Call[];
  store: Awaited<ReturnType<typeof loopbackStore>>;
}

/** Accepts `count` product saves, runs them to the end through http-forward, checks none was lost. */
async function forwardBulk(
  t: TestContext,
  count: number,
  store: StoreOptions,
  upstream: Omit<UpstreamConfig, 'baseUrl'>,
  concurrency: number,
): Promise<Run> {
  const s = await loopbackStore(t, store);
  const registry = await loadPlugins({
    routes: sampleRoutes,
    pluginsDir: null,
    modules: [{ source: 'plugins/http-forward/index.ts', module: forward }],
    upstream: { baseUrl: s.baseUrl, ...upstream },
    frameworkVersion: '1.0.0',
  });
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count,
    operationId: 'PutV1ProductsSku',
    args: (key) => ({ sku: `sku-${key}`, product: { sku: `sku-${key}`, price: key } }),
  });
  const consumer = await startConsumer({
    pool: db.pool,
    boss,
    schema: db.schema,
    registry,
    queues: ['async.products'],
    batchSize: 5,
    concurrency,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    // No backoff of our own: whatever delays a retry here is the upstream's Retry-After.
    policy: { retryLimit: 3, retryDelaySeconds: 0, retryBackoff: false },
    log: silentLog,
  });
  try {
    await waitFor(
      async () => ((await statusCounts(db.pool, db.schema, bulk))[1] ?? 0) === count,
      30_000,
      `all ${count} operations of ${bulk} to complete`,
    );
  } finally {
    await consumer.stop();
  }
  // Each operation carried its own key, the same on every attempt.
  for (const call of s.calls) assert.equal(call.idempotencyKey, `${bulk}:${call.sku.slice('sku-'.length)}`);
  return { bulk, calls: s.calls, store: s };
}

const callsOf = (calls: Call[], sku: string) => calls.filter((c) => c.sku === sku);

/**
 * Calls that arrived while the store's Retry-After held, from `answer` on for `ms`. A call sent
 * before the answer reached the consumer can still arrive in its first moments: those are allowed
 * a grace period, the time a loopback answer takes on a loaded machine.
 */
const GRACE_MS = 250;
const arrivedDuring = (calls: Call[], answer: Call, ms: number) =>
  calls.filter((c) => c.at > answer.answeredAt + GRACE_MS && c.at < answer.answeredAt + ms);

test('caps hold through the consumer: more batches than maxInFlight, never more calls at the store', async (t) => {
  const { calls, store } = await forwardBulk(t, 60, { latencyMs: 30 }, { maxInFlight: 3 }, 6);
  assert.equal(calls.length, 60, 'each operation called the store once');
  assert.equal(new Set(calls.map((c) => c.sku)).size, 60);
  assert.equal(store.peakInFlight(), 3);
  assert.ok(store.connections() <= 3, `${store.connections()} connections for 3 in flight`);
});

test('Retry-After within the wait: the retry and every other call wait it out, nothing runs twice', async (t) => {
  const { calls } = await forwardBulk(
    t,
    20,
    {
      answer: (call, n) =>
        call.sku === 'sku-3' && n === 1
          ? { status: 429, headers: { 'Retry-After': '2' }, body: { message: 'Too many requests' } }
          : undefined,
    },
    { maxInFlight: 2 },
    4,
  );
  const [first, retry, ...more] = callsOf(calls, 'sku-3');
  assert.ok(first && retry && !more.length, 'sku-3: the 429, then one retry');
  assert.ok(retry.at - first.answeredAt >= 2000, `retried ${(retry.at - first.answeredAt).toFixed(0)} ms after 429`);
  const during = arrivedDuring(calls, first, 2000);
  assert.deepEqual(during, [], 'no call reached the store during its Retry-After');
  assert.equal(calls.length, 21);
});

test('Retry-After beyond the wait: calls refused meanwhile are retried after it, never sent before', async (t) => {
  // The first call to reach the store is refused, whichever operation the consumer fetched first:
  // naming a sku would leave the test passing or failing on the queue's order (a refused last
  // operation leaves nothing to refuse during the back-off).
  let refused: string | undefined;
  const { calls } = await forwardBulk(
    t,
    20,
    {
      latencyMs: 20,
      answer: (call) => {
        if (refused !== undefined) return undefined;
        refused = call.sku;
        return { status: 503, headers: { 'Retry-After': '7' } };
      },
    },
    { maxInFlight: 2 },
    4,
  );
  const first = calls[0]!;
  assert.equal(first.sku, refused);
  const during = arrivedDuring(calls, first, 7000);
  assert.deepEqual(
    during.map((c) => c.sku),
    [],
    'no call reached the store during its Retry-After',
  );
  const again = calls.filter((c) => c.at >= first.answeredAt + 7000);
  assert.ok(again.length > 1, `operations refused during the back-off ran after it (${again.length} after)`);
  for (const sku of new Set(calls.map((c) => c.sku))) {
    const n = callsOf(calls, sku).length;
    assert.equal(n, sku === refused ? 2 : 1, `${sku} reached the store ${n} times`);
  }
});
