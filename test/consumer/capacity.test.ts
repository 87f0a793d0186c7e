/**
 * A consumer claims no more operations than it can start now: its free handler slots, and for
 * operations forwarded to an upstream, that upstream's free slots. So a handler's deadline and an
 * operation's lease never run while it waits its turn, and a slow upstream behind a small
 * `upstream.maxInFlight` never sees a call twice (issue 20: 98 of 598 calls were repeats).
 * Driven as an operator runs it: `queue:consumers:start` with a config file, against a loopback
 * store that answers in 300 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../support/db.ts';
import { TEST_LOCATIONS } from '../support/project.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { seedBulk, statusCounts, waitFor } from './seed.ts';
import { cancelOperations } from '../../src/operations/cancel.sql.ts';
import { CANCELED_MESSAGE } from '../../src/operations/cancel.ts';
import { loopbackStore } from '../plugins-shipped/http-forward/store.ts';

const CLI = fileURLToPath(new URL('../../bin/magento-async.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('slow upstream calls behind a 4-slot upstream, a 1 s handler deadline: every call made once, no deadline spent waiting', async (t) => {
  const store = await loopbackStore(t, { latencyMs: 300 });
  const db = await createTestDatabase('capacity');
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  t.after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });
  await ensureQueues(boss, ['products']);
  const count = 60;
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count,
    // One no plugin implements: it goes to the upstream.
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `cap-${k}`, entry: { media_type: 'image', label: `cap-${k}` } }),
  });
  const configFile = join(mkdtempSync(join(tmpdir(), 'capacity-')), 'config.json');
  t.after(() => rmSync(dirname(configFile), { recursive: true, force: true }));
  writeFileSync(
    configFile,
    JSON.stringify({
      ...TEST_LOCATIONS,
      schema: db.schema,
      bossSchema: db.bossSchema,
      logLevel: 'warn',
      upstream: { baseUrl: store.baseUrl, maxInFlight: 4 },
      consumer: { handlerTimeoutSeconds: 1, concurrency: 8, expireInSeconds: 10 },
    }),
  );
  const child = spawn(process.execPath, [CLI, 'queue:consumers:start', 'products'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor(
    async () => (await statusCounts(db.pool, db.schema, bulk))[1] === count,
    60_000,
    'every operation to complete',
  );
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
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
  assert.doesNotMatch(stderr, /did not finish within/);
});

test('a cancel stops every forwarded operation not yet sent: none is waiting for an upstream slot with its claim', async (t) => {
  const store = await loopbackStore(t, { latencyMs: 300 });
  const db = await createTestDatabase('capacity_cancel');
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  t.after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });
  await ensureQueues(boss, ['products']);
  const count = 60;
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count,
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `cancel-${k}`, entry: { media_type: 'image', label: `cancel-${k}` } }),
  });
  const configFile = join(mkdtempSync(join(tmpdir(), 'capacity-')), 'config.json');
  t.after(() => rmSync(dirname(configFile), { recursive: true, force: true }));
  writeFileSync(
    configFile,
    JSON.stringify({
      ...TEST_LOCATIONS,
      schema: db.schema,
      bossSchema: db.bossSchema,
      logLevel: 'warn',
      upstream: { baseUrl: store.baseUrl, maxInFlight: 4 },
      consumer: { concurrency: 8 },
    }),
  );
  const child = spawn(process.execPath, [CLI, 'queue:consumers:start', 'products'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor(async () => store.calls.length >= 8, 60_000, 'the consumer to get going');
  const canceled = await db.pool.query(cancelOperations(db.schema), [bulk, CANCELED_MESSAGE]);
  const at = performance.now();
  assert.ok((canceled.rowCount ?? 0) > 0);
  await waitFor(
    async () => {
      const c = await statusCounts(db.pool, db.schema, bulk);
      return (c[4] ?? 0) === 0;
    },
    30_000,
    'the bulk to finish',
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
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
});
