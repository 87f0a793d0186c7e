/**
 * The operation lifecycle with real consumers on the real database: retries on record while they
 * are pending (so "finished" never comes early and never takes itself back), cancel during retries,
 * per-key order with the first update retried, and the sweeper for an operation left with no job.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident, withTransaction } from '../../src/db/pool.ts';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/consumer.ts';
import { orderRules, saveOrderRules } from '../../src/operations/order-keys.ts';
import { cancelOn } from '../../src/operations/cancel.ts';
import { registerWaiter, reopenOperations, selectBulkSummary, type BulkSummaryRow } from '../../src/db/sql/status.ts';
import { bulkStatus } from '../../src/status/summary.ts';
import { RetriableError } from '../../src/plugin.ts';
import { bulkFinishedChannel, jobIdFor } from '../../src/queue/names.ts';
import { randomUUID } from 'node:crypto';
import { seedBulk, silentLog, statusCounts, waitFor } from '../consumer/seed.ts';
import { mapInvoker } from '../consumer/invokers.ts';

describe('operation lifecycle', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let consumer: ConsumerHandle;
  let s: string;
  /** Every run of a handler, in the order they started: (bulk, key, sku, price, attempt). */
  const runs: { bulk: string; key: number; sku?: string; price?: number; attempt: number; at: number }[] = [];
  const failFirst = new Set<string>();

  before(async () => {
    db = await createTestDatabase('lifecycle');
    s = ident(db.schema);
    await db.pool.query(`CREATE TABLE ${s}.price (sku text PRIMARY KEY, price int NOT NULL)`);
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, supervise: true });
    await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 30 });
    // Prices are ordered per sku (the catalog plugin's key); the others are not.
    await saveOrderRules(
      db.pool,
      db.schema,
      orderRules([{ operationId: 'SetPrice', entity: 'products', pathParams: ['sku'] }], new Map()),
    );
    const record = (
      args: { sku?: string; price?: number },
      ctx: Parameters<Parameters<typeof mapInvoker>[0][string]>[1],
    ) =>
      runs.push({
        bulk: ctx.operation.bulkUuid,
        key: ctx.operation.key,
        sku: args.sku,
        price: args.price,
        attempt: ctx.operation.attempt,
        at: Date.now(),
      });
    consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      queues: ['async.products'],
      batchSize: 20,
      concurrency: 2,
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
      policy: { retryLimit: 3, retryDelaySeconds: 1, retryBackoff: false },
      sweeper: { bossSchema: db.bossSchema, queueOf: () => 'async.products', intervalSeconds: 3600 },
      log: silentLog,
      registry: mapInvoker({
        // Fails its first attempt (an upstream answering 503 once), then succeeds.
        FlakyOnce(args, ctx) {
          record(args, ctx);
          if (ctx.operation.attempt === 1) throw new RetriableError('Upstream answered HTTP 503.');
          return null;
        },
        AlwaysBusy(args, ctx) {
          record(args, ctx);
          throw new RetriableError('Upstream answered HTTP 503.');
        },
        async SetPrice(args: { sku: string; price: number }, ctx) {
          record(args, ctx);
          const id = `${ctx.operation.bulkUuid}:${ctx.operation.key}`;
          if (failFirst.has(id) && ctx.operation.attempt === 1) throw new RetriableError('Lock wait timeout exceeded');
          await ctx.tx.query(
            `INSERT INTO price (sku, price) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET price = excluded.price`,
            [args.sku, args.price],
          );
          return null;
        },
        Noop: () => null,
      }),
    });
  });
  after(async () => {
    await consumer.stop();
    await boss.stop({ graceful: false });
    await db.drop();
  });

  const summary = async (bulk: string): Promise<BulkSummaryRow> =>
    (await db.pool.query<BulkSummaryRow>(selectBulkSummary(db.schema), [bulk])).rows[0]!;

  it('retries pending: the bulk is never finished early, and once finished it stays so', async () => {
    // The long-poll's wake-up: a registered waiter gets a NOTIFY once its bulk has nothing left to
    // run. Listening from before the bulks exist, so no notice can be missed.
    const listener = await db.pool.connect();
    const notices: { bulk: string; complete: number }[] = [];
    const reading: Promise<unknown>[] = [];
    const channel = bulkFinishedChannel(db.schema);
    const END = 'end of the notices';
    let ended!: () => void;
    const allHeard = new Promise<void>((resolve) => (ended = resolve));
    await listener.query(`LISTEN "${channel}"`);
    listener.on('notification', (m) => {
      if (m.payload === END) ended();
      else reading.push(noticed(m.payload!));
    });
    const noticed = async (bulk: string) =>
      notices.push({ bulk, complete: (await statusCounts(db.pool, db.schema, bulk))[1] ?? 0 });
    const bulkUuids = Array.from({ length: 4 }, () => randomUUID());
    for (const uuid of bulkUuids) await db.pool.query(registerWaiter(db.schema), [uuid, 600]);
    const bulks = await Promise.all(
      bulkUuids.map((bulkUuid) =>
        seedBulk(db.pool, boss, db.schema, { count: 25, operationId: 'FlakyOnce', bulkUuid }),
      ),
    ).catch(async (error: unknown) => {
      listener.release();
      throw error;
    });
    try {
      await readUntilFinished(bulks);
      // Notices arrive in commit order: once one sent after every bulk finished is heard, all the
      // bulks' notices have been too (and read); none may say finished early.
      await db.pool.query('SELECT pg_notify($1, $2)', [channel, END]);
      await allHeard;
      await Promise.all(reading);
    } finally {
      listener.release();
    }
    // A bulk whose last operations two workers finish at once may get no notice (each trigger sees
    // the other's counters uncommitted); the long-poll re-reads every second for that.
    assert.deepEqual(
      notices.filter((n) => n.complete !== 25),
      [],
      'notices sent while a retry was still coming',
    );
  });

  async function readUntilFinished(bulks: string[]): Promise<void> {
    let early = 0;
    let changedMind = 0;
    let reads = 0;
    const finishedSeen = new Set<string>();
    await waitFor(
      async () => {
        for (const bulk of bulks) {
          const row = await summary(bulk);
          reads++;
          const finished = bulkStatus(row) >= 2;
          const counts = await statusCounts(db.pool, db.schema, bulk);
          if (finished && (counts[1] ?? 0) !== 25) early++;
          if (finishedSeen.has(bulk) && !finished) changedMind++;
          if (finished) finishedSeen.add(bulk);
        }
        return finishedSeen.size === bulks.length;
      },
      60_000,
      'every bulk to finish',
    );
    assert.ok(reads > bulks.length * 3, `only ${reads} reads`);
    assert.equal(early, 0, 'reads that said finished while a retry was still coming');
    assert.equal(changedMind, 0, 'reads that took a finished back');
    for (const bulk of bulks) {
      assert.equal(bulkStatus(await summary(bulk)), 2);
      const mine = runs.filter((r) => r.bulk === bulk);
      assert.equal(mine.length, 50, 'each operation ran exactly twice: the failure and its one retry');
    }
  }

  it('retry API and cancel during retries: no second job; nothing runs after the cancel, finished at once', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 10, operationId: 'AlwaysBusy' });
    await waitFor(
      async () => {
        const { rows } = await db.pool.query(
          `SELECT count(*)::int AS n FROM ${s}.operation WHERE bulk_uuid = $1 AND will_retry`,
          [bulk],
        );
        return rows[0].n === 10;
      },
      20_000,
      'every operation to wait for its retry',
    );
    // The retry API leaves them alone: each already has its retry job, a second would run it twice.
    const reopened = await db.pool.query(reopenOperations(db.schema, db.bossSchema), [bulk, [2, 3], null]);
    assert.equal(reopened.rowCount, 0);
    const { canceled, at } = await withTransaction(db.pool, async (client) => {
      const n = await cancelOn(client, db.schema, db.bossSchema, bulk);
      return { canceled: n, at: Date.now() };
    });
    assert.equal(canceled, 10);
    assert.ok(bulkStatus(await summary(bulk)) >= 2, 'finished: nothing can run any more');
    // Each retry job comes due and a worker takes it: a retry that was going to run would have
    // run then. The job is completed without running the canceled operation.
    await waitFor(
      async () => {
        const jobs = await Promise.all(
          Array.from({ length: 10 }, (_, k) => boss.findJobs('async.products', { id: jobIdFor(bulk, k) })),
        );
        return jobs.every(([job]) => job?.state === 'completed');
      },
      20_000,
      "the workers to take the canceled operations' retry jobs",
    );
    assert.equal(runs.filter((r) => r.bulk === bulk && r.at > at).length, 0);
    assert.deepEqual(await statusCounts(db.pool, db.schema, bulk), { 3: 10 });
  });

  it('two updates of one sku, the first retried: the later one is held back and wins', async () => {
    const first = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'SetPrice',
      args: () => ({ sku: 'order-1', price: 10 }),
    });
    failFirst.add(`${first}:0`);
    // Created after the first, before it could have run: acceptance order is 10, then 20.
    const second = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'SetPrice',
      args: () => ({ sku: 'order-1', price: 20 }),
    });
    await waitFor(
      async () => (await statusCounts(db.pool, db.schema, second))[1] === 1,
      30_000,
      'the second update to complete',
    );
    const { rows } = await db.pool.query(`SELECT price FROM ${s}.price WHERE sku = 'order-1'`);
    assert.equal(rows[0].price, 20);
    assert.deepEqual(
      runs.filter((r) => r.sku === 'order-1').map((r) => [r.price, r.attempt]),
      [
        [10, 1],
        [10, 2],
        [20, 1],
      ],
    );
    assert.equal((await statusCounts(db.pool, db.schema, first))[1], 1);
  });

  it('the sweeper gives an open operation whose job was deleted a new one, and counts it', async () => {
    await ensureQueues(boss, ['swept']);
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 3, operationId: 'Noop', entity: 'swept' });
    // Standing in for pg-boss retention, while no consumer works the queue yet.
    await boss.deleteJob('async.swept', jobIdFor(bulk, 1));
    const sweeping = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      queues: ['async.swept'],
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
      deadLetter: false,
      sweeper: { bossSchema: db.bossSchema, queueOf: () => 'async.swept', intervalSeconds: 3600 },
      log: silentLog,
      registry: mapInvoker({ Noop: () => null }),
    });
    try {
      await waitFor(
        async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 3,
        20_000,
        'all three to complete',
      );
      assert.equal(sweeping.swept(), 1);
    } finally {
      await sweeping.stop();
    }
  });

  it('a hung handler is aborted at its timeout: ctx.signal fires, its writes roll back, it fails retriably', async () => {
    await ensureQueues(boss, ['hung']);
    const bulk = await seedBulk(db.pool, boss, db.schema, {
      count: 2,
      operationId: 'Hangs',
      entity: 'hung',
      args: (k) => ({ sku: `hung-${k}`, price: k }),
    });
    const aborted: string[] = [];
    const hanging = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      queues: ['async.hung'],
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
      deadLetter: false,
      policy: { handlerTimeoutMs: 300, retryLimit: 0 },
      log: silentLog,
      registry: mapInvoker({
        async Hangs(args: { sku: string; price: number }, ctx) {
          ctx.signal.addEventListener('abort', () => aborted.push(args.sku));
          await ctx.tx.query(`INSERT INTO price (sku, price) VALUES ($1, $2)`, [args.sku, args.price]);
          await new Promise(() => {}); // never settles
        },
      }),
    });
    try {
      await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[2] === 2, 10_000, 'both to fail');
      assert.deepEqual(aborted.sort(), ['hung-0', 'hung-1']);
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.price WHERE sku LIKE 'hung-%'`);
      assert.equal(rows[0].n, 0, 'the hung handlers wrote nothing');
      const ops = await db.pool.query(`SELECT result_message, will_retry FROM ${s}.operation WHERE bulk_uuid = $1`, [
        bulk,
      ]);
      for (const op of ops.rows) {
        assert.match(op.result_message, /did not finish within 0\.3 s/);
        assert.equal(op.will_retry, false);
      }
    } finally {
      await hanging.stop();
    }
  });
});
