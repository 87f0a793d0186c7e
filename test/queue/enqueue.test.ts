import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import { jobIdFor } from '../../src/queue/names.ts';

describe('enqueueOperations', () => {
  let db: TestDatabase;
  let boss: PgBoss;

  before(async () => {
    db = await createTestDatabase('enqueue');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products', 'customers']);
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  it('rolls back with the transaction it runs in', async () => {
    const bulk = randomUUID();
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await enqueueOperations(client, boss, [{ entity: 'products', bulkUuid: bulk, key: 0 }]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    assert.deepEqual(await boss.findJobs('async.products', { id: jobIdFor(bulk, 0) }), []);
  });

  it('commits jobs per entity queue with deterministic ids and {bulk, key} data', async () => {
    const bulk = randomUUID();
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await enqueueOperations(client, boss, [
        { entity: 'products', bulkUuid: bulk, key: 0 },
        { entity: 'customers', bulkUuid: bulk, key: 1 },
        { entity: 'products', bulkUuid: bulk, key: 2 },
      ]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const products = await boss.fetch<{ bulk: string; key: number }>('async.products', { batchSize: 10 });
    assert.deepEqual(
      products.map((j) => [j.id, j.data]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      [
        [jobIdFor(bulk, 0), { bulk, key: 0 }],
        [jobIdFor(bulk, 2), { bulk, key: 2 }],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const customers = await boss.fetch('async.customers', { batchSize: 10 });
    assert.deepEqual(
      customers.map((j) => j.id),
      [jobIdFor(bulk, 1)],
    );
    // A queue copies its policy into each job at insert.
    const [job] = await boss.findJobs('async.customers', { id: jobIdFor(bulk, 1) });
    assert.equal(job?.retryLimit, 10, "delivery retries (consumer.deliveryRetryLimit), apart from the operation's own");
    assert.equal(job?.retryBackoff, true);
    assert.equal(job?.expireInSeconds, 60);
    assert.equal(job?.heartbeatSeconds, 10);
  });

  it('enqueues an operation once however often it is enqueued', async () => {
    const bulk = randomUUID();
    const jobs = [
      { entity: 'products', bulkUuid: bulk, key: 7 },
      { entity: 'products', bulkUuid: bulk, key: 7 },
    ];
    await enqueueOperations(db.pool, boss, jobs);
    await enqueueOperations(db.pool, boss, jobs);
    const found = await boss.findJobs('async.products', { data: { bulk } });
    assert.equal(found.length, 1);
  });
});

describe('ensureQueues', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  before(async () => {
    db = await createTestDatabase('ensure');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  it('creates one queue per entity with the retry policy, and is idempotent', async () => {
    const names = await ensureQueues(boss, ['products', 'cmsPage', 'products'], { retryLimit: 3, expireInSeconds: 30 });
    assert.deepEqual(names, ['async.cmsPage', 'async.products']);
    await ensureQueues(boss, ['products', 'cmsPage'], { retryLimit: 3, expireInSeconds: 30 });
    const q = await boss.getQueue('async.products');
    assert.equal(q?.retryLimit, 3);
    assert.equal(q?.retryDelay, 2);
    assert.equal(q?.retryBackoff, true);
    assert.equal(q?.expireInSeconds, 30);
    assert.equal(q?.heartbeatSeconds, 10);
    assert.equal(q?.deadLetter, 'async.__dead_letter');
  });

  it('applies a changed policy to an existing queue', async () => {
    await ensureQueues(boss, ['products'], { retryLimit: 7, heartbeatSeconds: null });
    const q = await boss.getQueue('async.products');
    assert.equal(q?.retryLimit, 7);
    assert.equal(q?.heartbeatSeconds ?? null, null);
  });
});
