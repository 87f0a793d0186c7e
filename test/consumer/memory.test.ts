/**
 * A worker's memory does not grow with the work it has done: once an operation is recorded nothing
 * of it stays reachable. Its handler's abort signal (and with it the unit's transaction, deadline
 * and batch) is collected; a signal made by `AbortSignal.any` with a listener was kept alive by
 * Node for good, which made RSS grow by ~3 KB per operation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createTestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { startConsumer } from '../../src/consumer/consumer.ts';
import { seedBulk, silentLog, statusCounts } from './seed.ts';
import { mapInvoker } from './invokers.ts';
import { waitFor } from '../support/wait.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('consumer memory', () => {
  it('keeps nothing of a recorded operation: its handler signal is collected', async () => {
    const db = await createTestDatabase('memory');
    const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    const signals: WeakRef<AbortSignal>[] = [];
    try {
      await ensureQueues(boss, ['products']);
      const count = 300;
      const bulk = await seedBulk(db.pool, boss, db.schema, { count, operationId: 'Watch' });
      const consumer = await startConsumer({
        pool: db.pool,
        boss,
        schema: db.schema,
        registry: mapInvoker({
          Watch: (_args, ctx) => {
            signals.push(new WeakRef(ctx.signal));
            return null;
          },
        }),
        queues: ['async.products'],
        batchSize: 50,
        maxMessages: count,
        log: silentLog,
      });
      await consumer.done;
      assert.deepEqual(await statusCounts(db.pool, db.schema, bulk), { 1: count });
      assert.equal(signals.length, count);
      // Collection is not immediate: a few cycles, with turns of the event loop between them.
      await waitFor(
        () => {
          gc();
          return signals.every((s) => s.deref() === undefined);
        },
        2000,
        'the handler signals to be collected',
      ).catch(() => {});
      const alive = signals.filter((s) => s.deref() !== undefined).length;
      assert.equal(alive, 0, `${alive} of ${count} handler signals are still reachable after their operations ended`);
    } finally {
      await boss.stop({ graceful: false });
      await db.drop();
    }
  });
});
