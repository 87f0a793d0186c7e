/**
 * pg-boss's delivery retries are apart from an operation's own retries: with `consumer.retryLimit`
 * 0 (no automatic retry of a failed operation), a worker killed mid-operation still has its job
 * delivered again (`consumer.deliveryRetryLimit`), and the operation completes instead of being
 * closed as "its worker stopped on every attempt".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues, queuePolicyFromConfig } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { seedBulk, waitFor } from './seed.ts';
import { startWorker, type Worker } from './workers.ts';

test('retryLimit 0, a worker killed in the middle of an operation: it is delivered again and completes', async (t) => {
  const db = await createTestDatabase('delivery_retries');
  const s = ident(db.schema);
  await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, pid int NOT NULL)`);
  await db.pool.query(`CREATE TABLE ${s}.run (sku text NOT NULL, pid int NOT NULL)`);
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  const workers: Worker[] = [];
  t.after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await boss.stop({ graceful: false });
    await db.drop();
  });
  // The deployment's settings as `consumer.*` gives them: no automatic retries of failed operations,
  // a short expiry so the killed worker's job comes back within seconds.
  const consumer = {
    retryLimit: 0,
    retryDelaySeconds: 1,
    retryBackoff: false,
    deliveryRetryLimit: 10,
    deliveryRetryDelaySeconds: 1,
    expireInSeconds: 3,
    heartbeatSeconds: null,
  };
  await ensureQueues(boss, ['products'], queuePolicyFromConfig(consumer));
  const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, args: () => ({ sku: 'killed' }) });
  // Its handler records the run, then takes a minute: it is killed in the middle.
  const first = await startWorker(db, 60_000, 1, 1);
  workers.push(first);
  const runs = async () =>
    (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.run WHERE sku = 'killed'`)).rows[0]!.n;
  await waitFor(async () => (await runs()) === 1, 20_000, 'the first run to start');
  first.child.kill('SIGKILL');
  await first.exited;
  const second = await startWorker(db, 5, 1, 1);
  workers.push(second);
  const operation = async () =>
    (
      await db.pool.query<{ status: number; will_retry: boolean; result_message: string | null }>(
        `SELECT status, will_retry, result_message FROM ${s}.operation WHERE bulk_uuid = $1`,
        [bulk],
      )
    ).rows[0]!;
  await waitFor(async () => (await operation()).status !== 4, 60_000, 'the operation to finish');
  const o = await operation();
  assert.equal(o.status, 1, `status ${o.status}: ${o.result_message}`);
  assert.equal(await runs(), 2);
  const effects = await db.pool.query(`SELECT pid FROM ${s}.effect WHERE sku = 'killed'`);
  assert.deepEqual(
    effects.rows.map((r) => r.pid),
    [second.child.pid],
  );
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0);
});
