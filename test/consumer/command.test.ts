/** `magento-async queue:consumers:start` as an operator runs it, against the generated routes and plugins. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consumerConfig, startConsumerCommand } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { seedBulk, statusCounts } from './seed.ts';

describe('queue:consumers:start', () => {
  it('consumes a topic through its entity queue and stops after --max-messages', async (t) => {
    const db = await createTestDatabase('cmd');
    const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    t.after(async () => {
      await boss.stop({ graceful: false });
      await db.drop();
    });
    await ensureQueues(boss, ['products']);
    // No product called this exists, so the real catalog handler may fail it: any final status will do.
    const bulk = await seedBulk(db.pool, boss, db.schema, {
      count: 2,
      operationId: 'PutV1ProductsSku',
      args: (k) => ({ sku: `cmd-${k}`, product: { sku: `cmd-${k}`, name: 'Cmd', price: 1 } }),
    });
    const consumer = startConsumerCommand(t, db, consumerConfig(t, db), [
      'queue:consumers:start',
      'async.V1.products.sku.PUT',
      '--max-messages',
      '2',
    ]);
    assert.equal(await consumer.exited, 0, consumer.stderr());
    assert.match(consumer.stdout(), /Note: Topic async\.V1\.products\.sku\.PUT shares the queue async\.products/);
    const counts = await statusCounts(db.pool, db.schema, bulk);
    assert.equal(counts[4] ?? 0, 0, JSON.stringify(counts));
  });
});
