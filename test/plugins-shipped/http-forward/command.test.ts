/**
 * The `upstream.*` keys as an operator sets them: a config file, `queue:consumers:start`, the
 * generated routes and plugins, and a loopback store counting what reaches it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consumerConfig, startConsumerCommand } from '../../support/cli.ts';
import { createTestDatabase } from '../../support/db.ts';
import { createBoss, ensureQueues } from '../../../src/queue/boss.ts';
import { seedBulk, statusCounts } from '../../consumer/seed.ts';
import { loopbackStore } from './store.ts';

test('queue:consumers:start forwards with upstream.maxInFlight from the config file, over kept-alive connections', async (t) => {
  const store = await loopbackStore(t, { latencyMs: 30 });
  const db = await createTestDatabase('forward_cmd');
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  t.after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });
  await ensureQueues(boss, ['products']);
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count: 24,
    // One no plugin implements (the shipped catalog plugin saves products itself).
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `cmd-${k}`, entry: { media_type: 'image', label: `cmd-${k}` } }),
  });
  const configFile = consumerConfig(t, db, { upstream: { baseUrl: store.baseUrl, maxInFlight: 2 } });
  // Six batches of two at once: six calls would be in flight without the cap.
  const consumer = startConsumerCommand(t, db, configFile, [
    'queue:consumers:start',
    'products',
    '--max-messages',
    '24',
    '--batch-size',
    '2',
    '--concurrency',
    '6',
  ]);
  const code = await consumer.exited;
  assert.equal(code, 0, consumer.stderr());
  assert.deepEqual(await statusCounts(db.pool, db.schema, bulk), { 1: 24 });
  assert.equal(store.calls.length, 24);
  assert.equal(store.peakInFlight(), 2);
  assert.ok(store.connections() <= 2, `${store.connections()} connections`);
});
