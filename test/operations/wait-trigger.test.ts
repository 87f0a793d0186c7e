/**
 * The trigger that fails the waiters of a provider that ended without completing
 * (051_claims_are_jobs.sql) fails only those no worker holds: a claim is the operation's active job
 * (src/operations/claims.ts), so a held waiter (between its look and its put-off, or delivered again
 * before its look) is left to its worker's look, which fails it naming the provider. Before 051 it
 * read the lease columns, always empty since claims became jobs, and failed held waiters under their
 * worker. Every state here is one production reaches, written by production's statements.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { orderRules, saveOrderRules } from '../../src/operations/order-keys.ts';
import { claimSeparately, type Claimed } from '../../src/operations/claims.ts';
import { recordQueueSchema } from '../../src/operations/claims.sql.ts';
import { recordWaits } from '../../src/operations/requires.sql.ts';
import { recordOutcomes } from '../../src/operations/outcomes.ts';
import { DEFAULT_LIFECYCLE } from '../../src/operations/policy.ts';
import type { LifecycleContext } from '../../src/operations/policy.ts';
import type { OperationJob } from '../../src/queue/names.ts';
import { seedBulk, silentLog } from '../consumer/seed.ts';

const QUEUE = 'async.products';
let db: TestDatabase;
let boss: PgBoss;
let ctx: LifecycleContext;

before(async () => {
  db = await createTestDatabase('wait_trigger');
  boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  await ensureQueues(boss, ['products']);
  await saveOrderRules(
    db.pool,
    db.schema,
    orderRules([{ operationId: 'PutV1ProductsSku', entity: 'products', pathParams: ['sku'] }], new Map()),
  );
  ctx = { pool: db.pool, boss, schema: db.schema, policy: DEFAULT_LIFECYCLE, log: silentLog } as LifecycleContext;
});
after(async () => {
  await boss.stop({ graceful: false });
  await db.drop();
});

test('a failed provider fails its waiters no worker holds, and leaves a held one to its look', async () => {
  const s = ident(db.schema);
  // As a consumer does at start.
  await db.pool.query(recordQueueSchema(db.schema), [db.bossSchema]);
  // Operation 0 provides sku A; 1 and 2 (skus B and C) require it.
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count: 3,
    operationId: 'PutV1ProductsSku',
    args: (k) => ({ sku: ['A', 'B', 'C'][k], product: { sku: ['A', 'B', 'C'][k] } }),
  });
  const jobs = await boss.fetch<OperationJob>(QUEUE, { batchSize: 3 });
  assert.equal(jobs.length, 3);
  const claims = (await claimSeparately(ctx, jobs)) as Claimed[];
  const byKey = new Map(claims.map((c) => [c.row.operation_key, c]));
  assert.equal(byKey.size, 3, 'all three claimed');
  const { rows: keys } = await db.pool.query<{ order_key: string }>(
    `SELECT order_key FROM ${s}.operation_order WHERE bulk_uuid = $1 AND operation_key = 0`,
    [bulk],
  );
  const need = keys[0]!.order_key;
  // Both looked and found the provider unfinished (the look's own statement).
  await db.pool.query(recordWaits(db.schema), [
    [bulk, bulk],
    [1, 2],
    [need, need],
    [null, null],
  ]);
  // Operation 2 was put off (its delivery completed, a new job for later), as a waiter's worker
  // does after its look: no worker holds it. Operation 1's worker still holds it.
  await boss.complete(QUEUE, [{ id: byKey.get(2)!.job.id, retryCount: byKey.get(2)!.job.retryCount }]);
  await boss.insert(QUEUE, [{ data: { bulk, key: 2, deferred: 1 }, startAfter: 30 }]);

  // The provider fails.
  const provider = byKey.get(0)!;
  await recordOutcomes(
    ctx,
    QUEUE,
    [{ job: provider.job, row: provider.row, outcome: { status: 3, errorCode: null, message: 'No.', result: null } }],
    [],
    new Date(),
  );

  const { rows } = await db.pool.query<{ operation_key: number; status: number; result_message: string | null }>(
    `SELECT operation_key, status, result_message FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
    [bulk],
  );
  assert.equal(rows[0]!.status, 3);
  assert.equal(rows[1]!.status, 4, 'the held waiter is left to its worker');
  assert.equal(rows[2]!.status, 3, 'the waiter no worker holds fails at once');
  assert.match(rows[2]!.result_message!, /^Required operation 0 of bulk .*, failed: No\.$/);
  const { rows: edges } = await db.pool.query<{ operation_key: number }>(
    `SELECT operation_key FROM ${s}.operation_wait WHERE bulk_uuid = $1 ORDER BY operation_key`,
    [bulk],
  );
  assert.deepEqual(
    edges.map((e) => e.operation_key),
    [1],
    'the held waiter keeps its wait: its look finds the failed provider through it',
  );
});
