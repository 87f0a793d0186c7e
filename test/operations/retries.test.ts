/**
 * Retry policy (src/operations/retries.ts): an automatic retry runs when it is due, never earlier,
 * however many deliveries its operation gets (a sweep, a job pg-boss delivers again); the retry API
 * keeps `attempts`, and the automatic retry limit counts the runs since the reopening.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident, withTransaction } from '../../src/db/pool.ts';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/consumer.ts';
import { reopenOperations } from '../../src/operations/reopen.sql.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import { retryJobIdFor } from '../../src/queue/names.ts';
import { OperationError, RetriableError } from '../../src/plugin.ts';
import { seedBulk, silentLog, statusCounts, waitFor } from '../consumer/seed.ts';
import { mapInvoker } from '../consumer/invokers.ts';

describe('retries', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  const consumers: ConsumerHandle[] = [];
  /** Every run: (bulk, key, attempt, when). */
  const runs: { bulk: string; key: number; attempt: number; at: number }[] = [];
  const failedAt = new Map<string, number>();

  before(async () => {
    db = await createTestDatabase('retries');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, supervise: true });
    await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 30 });
    // Two consumers, each with its own sweeper, as two worker processes have.
    for (let i = 0; i < 2; i++) {
      consumers.push(
        await startConsumer({
          pool: db.pool,
          boss,
          schema: db.schema,
          queues: ['async.products'],
          batchSize: 10,
          concurrency: 1,
          pollingIntervalSeconds: 0.5,
          notifyPollingIntervalSeconds: 0.5,
          policy: { retryLimit: 1, retryDelaySeconds: 1, retryBackoff: false },
          sweeper: { bossSchema: db.bossSchema, queueOf: () => 'async.products', intervalSeconds: 3600 },
          log: silentLog,
          registry: mapInvoker({
            // An upstream answering 503 with `Retry-After: 5` once.
            BackOffOnce(_args, ctx) {
              runs.push({
                bulk: ctx.operation.bulkUuid,
                key: ctx.operation.key,
                attempt: ctx.operation.attempt,
                at: Date.now(),
              });
              if (ctx.operation.attempt === 1) {
                failedAt.set(ctx.operation.bulkUuid, Date.now());
                throw new RetriableError('Upstream answered HTTP 503.', { retryAfterSeconds: 5 });
              }
              return null;
            },
            AlwaysBusy(_args, ctx) {
              runs.push({
                bulk: ctx.operation.bulkUuid,
                key: ctx.operation.key,
                attempt: ctx.operation.attempt,
                at: Date.now(),
              });
              throw new RetriableError('Upstream answered HTTP 503.');
            },
            Rejected(_args, ctx) {
              runs.push({
                bulk: ctx.operation.bulkUuid,
                key: ctx.operation.key,
                attempt: ctx.operation.attempt,
                at: Date.now(),
              });
              if (ctx.operation.attempt === 1) throw new OperationError('The product was rejected.');
              return null;
            },
          }),
        }),
      );
    }
  });
  after(async () => {
    for (const c of consumers) await c.stop();
    await boss.stop({ graceful: false });
    await db.drop();
  });

  const operation = async (bulk: string) =>
    (
      await db.pool.query<{ status: number; attempts: number; will_retry: boolean }>(
        `SELECT status, attempts, will_retry FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1`,
        [bulk],
      )
    ).rows[0]!;

  it('a retry whose job was lost is swept once, by one of the consumers, and runs no earlier than its Retry-After', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'BackOffOnce' });
    await waitFor(async () => (await operation(bulk)).will_retry, 20_000, 'the first run to fail retriably');
    // Standing in for pg-boss retention: the retry job is gone, and both consumers sweep at once.
    await boss.deleteJob('async.products', retryJobIdFor(bulk, 0, 0, 2));
    const before = consumers.reduce((n, c) => n + c.swept(), 0);
    await Promise.all(consumers.map((c) => c.sweep()));
    assert.equal(consumers.reduce((n, c) => n + c.swept(), 0) - before, 1, 'jobs the sweeps gave the operation');
    await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 1, 20_000, 'the retry to succeed');
    const mine = runs.filter((r) => r.bulk === bulk);
    assert.deepEqual(
      mine.map((r) => r.attempt),
      [1, 2],
    );
    const waited = mine[1]!.at - failedAt.get(bulk)!;
    assert.ok(waited >= 4500, `the retry ran ${waited} ms after the failure that asked for 5 s`);
  });

  const reopen = (bulk: string) =>
    withTransaction(db.pool, async (client) => {
      // What the retry API does (src/status/endpoints/retry.ts): reopen, and a job in the same transaction.
      const { rows } = await client.query<{ operation_key: number; reopened: number }>(
        reopenOperations(db.schema, db.bossSchema),
        [bulk, [2, 3], null],
      );
      await enqueueOperations(
        client,
        boss,
        rows.map((r) => ({ entity: 'products', bulkUuid: bulk, key: r.operation_key, reopened: r.reopened })),
      );
      return rows.length;
    });

  it('the retry API keeps attempts: the run after a reopening is attempt 2, and the handler sees it', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'Rejected' });
    await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[3] === 1, 20_000, 'the rejection');
    assert.equal(await reopen(bulk), 1);
    await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 1, 20_000, 'the second run');
    assert.deepEqual(
      runs.filter((r) => r.bulk === bulk).map((r) => r.attempt),
      [1, 2],
    );
    assert.equal((await operation(bulk)).attempts, 2);
  });

  it('after a reopening the automatic retry limit counts afresh: retryLimit 1 gives two more runs, attempts 3 and 4', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'AlwaysBusy' });
    const closed = async () => {
      const o = await operation(bulk);
      return o.status === 2 && !o.will_retry;
    };
    await waitFor(closed, 20_000, 'the retries to run out');
    assert.equal(await reopen(bulk), 1);
    await waitFor(async () => (await operation(bulk)).attempts === 4 && (await closed()), 20_000, 'two more runs');
    assert.deepEqual(
      runs.filter((r) => r.bulk === bulk).map((r) => r.attempt),
      [1, 2, 3, 4],
    );
  });
});
