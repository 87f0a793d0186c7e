import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { DEAD_LETTER_QUEUE, jobIdFor, type OperationJob } from '../../src/queue/names.ts';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/consumer.ts';
import { OperationError, RetriableError, type HandlerContext } from '../../src/plugin.ts';
import { ident, withTransaction } from '../../src/db/pool.ts';
import { cancelOn } from '../../src/operations/cancel.ts';
import { seedBulk, silentLog, statusCounts, waitFor } from './seed.ts';
import { mapInvoker } from './invokers.ts';

// One schema pair for the file (setting one up and dropping it costs PostgreSQL about a quarter of
// a second of CPU); each describe has queues of its own entity, so none sees another's jobs.
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('consumer');
});
after(async () => {
  await db?.drop();
});

describe('consumer', () => {
  let boss: PgBoss;
  let consumer: ConsumerHandle;
  let s: string;
  const seen: { args: unknown; store: HandlerContext['store']; operation: HandlerContext['operation']; at: number }[] =
    [];
  const calls = new Map<string, number>();
  const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1).get(id)!;

  const invoker = mapInvoker({
    Echo: (args, ctx) => {
      seen.push({ args, store: ctx.store, operation: ctx.operation, at: Date.now() });
      return { echoed: args };
    },
    Void: () => undefined,
    Invalid: () => {
      throw new OperationError('The "sku" is invalid.', { code: 42 });
    },
    Broken: () => {
      throw new TypeError('boom');
    },
    WriteThenThrow: async (args: { sku: string }, ctx) => {
      await ctx.tx.query(`INSERT INTO ${s}.effect (sku) VALUES ($1)`, [args.sku]);
      throw new OperationError('changed my mind');
    },
    WriteThenSucceed: async (args: { sku: string }, ctx) => {
      await ctx.tx.query(`INSERT INTO ${s}.effect (sku) VALUES ($1)`, [args.sku]);
      return { sku: args.sku };
    },
    AlwaysLocked: (_args, ctx) => {
      seen.push({ args: null, store: ctx.store, operation: ctx.operation, at: Date.now() });
      throw new RetriableError('Lock wait timeout exceeded', { code: 1205 });
    },
    SerializationOnce: async (args: { sku: string }, ctx) => {
      await ctx.tx.query(`INSERT INTO ${s}.effect (sku) VALUES ($1)`, [args.sku]);
      if (count(`ser:${args.sku}`) === 1) {
        throw Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' });
      }
      return { attempt: ctx.operation.attempt };
    },
    Counted: (args: { sku: string }) => {
      count(`counted:${args.sku}`);
      return null;
    },
  });

  before(async () => {
    s = ident(db.schema);
    await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL)`);
    await db.pool.query(`INSERT INTO ${s}.store (store_id, code, name) VALUES (2, 'fr', 'French')`);
    boss = await createBoss({
      connectionString: db.url,
      schema: db.bossSchema,
      supervise: true,
      superviseIntervalSeconds: 1,
      monitorVacuum: false,
    });
    await ensureQueues(boss, ['products'], {
      retryLimit: 2,
      retryDelay: 1,
      retryBackoff: true,
      heartbeatSeconds: null,
      expireInSeconds: 10,
    });
    consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      registry: invoker,
      queues: ['async.products'],
      batchSize: 10,
      concurrency: 2,
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
      policy: { retryLimit: 2, retryDelaySeconds: 1, retryBackoff: true },
      log: silentLog,
    });
  });
  after(async () => {
    await consumer.stop();
    await boss.stop({ graceful: false });
  });

  const settled = (bulk: string, n: number, timeout = 10_000) =>
    waitFor(
      async () => {
        const c = await statusCounts(db.pool, db.schema, bulk);
        return (c[4] ?? 0) === 0 && Object.values(c).reduce((a, b) => a + b, 0) === n;
      },
      timeout,
      `bulk ${bulk} to settle`,
    );

  const operations = async (bulk: string) =>
    (
      await db.pool.query(
        `SELECT operation_key, status, error_code, result_message, result_serialized_data, serialized_data,
                started_at, finished_at, attempts
         FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
        [bulk],
      )
    ).rows;

  const jobState = async (bulk: string, key: number) =>
    (await boss.findJobs('async.products', { id: jobIdFor(bulk, key) }))[0]?.state;

  it('runs each operation in its store scope and records success as Magento does', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, {
      count: 3,
      operationId: 'Echo',
      storeId: 2,
      storeCode: 'fr',
    });
    await settled(bulk, 3);
    const ops = await operations(bulk);
    for (const op of ops) {
      assert.equal(op.status, 1);
      assert.equal(op.error_code, null);
      assert.equal(op.result_message, 'Service execution success Test_Plugin::Echo');
      assert.deepEqual(JSON.parse(op.result_serialized_data), { echoed: { sku: `sku-${op.operation_key}` } });
      assert.equal(op.serialized_data, null);
      assert.ok(op.started_at && op.finished_at);
      assert.equal(op.attempts, 1);
      assert.equal(await jobState(bulk, op.operation_key), 'completed');
    }
    const mine = seen.filter((c) => c.operation.bulkUuid === bulk);
    assert.equal(mine.length, 3);
    assert.deepEqual(mine[0]!.store, { id: 2, code: 'fr', explicit: true });
    assert.equal(mine[0]!.operation.topic, 'async.V1.products.sku.PUT');
    assert.equal(mine[0]!.operation.attempt, 1);
  });

  it('maps `all` to the admin scope and no store code to a non-explicit scope', async () => {
    const all = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'Echo',
      storeId: 1,
      storeCode: 'all',
    });
    const none = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'Echo',
      storeId: 1,
      storeCode: null,
    });
    await settled(all, 1);
    await settled(none, 1);
    assert.deepEqual(seen.find((c) => c.operation.bulkUuid === all)!.store, { id: 0, code: 'all', explicit: true });
    assert.deepEqual(seen.find((c) => c.operation.bulkUuid === none)!.store, { id: 1, code: null, explicit: false });
  });

  it('stores the JSON of null for a handler that returns nothing', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'Void' });
    await settled(bulk, 1);
    const [op] = await operations(bulk);
    assert.equal(op.status, 1);
    assert.equal(op.result_serialized_data, 'null');
  });

  it('records a non-retriable failure as status 3 with message and code, keeps the data, does not retry', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'Invalid' });
    const broken = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'Broken' });
    const missing = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'NoSuchHandler' });
    await settled(bulk, 1);
    await settled(broken, 1);
    await settled(missing, 1);
    const [op] = await operations(bulk);
    assert.equal(op.status, 3);
    assert.equal(op.error_code, 42);
    assert.equal(op.result_message, 'The "sku" is invalid.');
    assert.equal(op.result_serialized_data, null);
    assert.ok(op.serialized_data);
    assert.equal(op.attempts, 1);
    assert.equal(await jobState(bulk, 0), 'completed');
    const [b] = await operations(broken);
    // A plain Error's message may carry internals: the stored message is generic, the detail logged.
    assert.deepEqual(
      [b.status, b.error_code, b.result_message],
      [
        3,
        0,
        `The operation failed with an internal error (TypeError). Details are in the consumer log under operation ${broken}/0.`,
      ],
    );
    const [m] = await operations(missing);
    assert.deepEqual([m.status, m.error_code, m.result_message], [3, 0, 'No handler for operation NoSuchHandler']);
  });

  it('rolls back the writes of a handler that throws, and commits those of one that succeeds', async () => {
    const thrown = await seedBulk(db.pool, boss, db.schema, {
      count: 2,
      operationId: 'WriteThenThrow',
      args: (k) => ({ sku: `throw-${k}` }),
    });
    const ok = await seedBulk(db.pool, boss, db.schema, {
      count: 2,
      operationId: 'WriteThenSucceed',
      args: (k) => ({ sku: `ok-${k}` }),
    });
    await settled(thrown, 2);
    await settled(ok, 2);
    const { rows } = await db.pool.query(
      `SELECT sku FROM ${s}.effect WHERE sku LIKE 'throw-%' OR sku LIKE 'ok-%' ORDER BY sku`,
    );
    assert.deepEqual(
      rows.map((r) => r.sku),
      ['ok-0', 'ok-1'],
    );
    assert.deepEqual(
      (await operations(thrown)).map((o) => [o.status, o.result_message]),
      [
        [3, 'changed my mind'],
        [3, 'changed my mind'],
      ],
    );
    assert.deepEqual(
      (await operations(ok)).map((o) => o.status),
      [1, 1],
    );
    assert.equal(await jobState(ok, 0), 'completed');
    assert.equal(await jobState(thrown, 0), 'completed');
  });

  it('retries a serialization failure and commits the effect of the successful attempt only', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, {
      count: 1,
      operationId: 'SerializationOnce',
      args: () => ({ sku: 'ser-0' }),
    });
    await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 1, 15_000, 'the retry to succeed');
    const [op] = await operations(bulk);
    assert.equal(op.attempts, 2);
    assert.deepEqual(JSON.parse(op.result_serialized_data), { attempt: 2 });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.effect WHERE sku = 'ser-0'`);
    assert.equal(rows[0].n, 1);
  });

  it('retries retriable failures with backoff, then stops at the limit with status 2', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'AlwaysLocked' });
    const retrying: boolean[] = [];
    await waitFor(
      async () => {
        const { rows } = await db.pool.query(
          `SELECT status, will_retry, attempts FROM ${s}.operation WHERE bulk_uuid = $1`,
          [bulk],
        );
        if (rows[0].status === 2) retrying.push(rows[0].will_retry);
        return rows[0].status === 2 && !rows[0].will_retry;
      },
      30_000,
      'the retries to run out',
    );
    // Between runs the retry still coming is on record, and only the last failure says none is.
    assert.ok(retrying.slice(0, -1).every(Boolean) && retrying.length > 1, `will_retry seen ${retrying}`);
    const attempts = seen.filter((c) => c.operation.bulkUuid === bulk);
    assert.deepEqual(
      attempts.map((a) => a.operation.attempt),
      [1, 2, 3],
    );
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    // retryDelay 1 s with backoff: the first retry waits 1–2 s, the second 2–4 s.
    assert.ok(gaps[0]! >= 900, `first gap ${gaps[0]}`);
    assert.ok(gaps[1]! >= 1900, `second gap ${gaps[1]}`);
    // The dead-letter copy must not reopen or relabel an operation that already says why it failed:
    // once every job of the operation is settled, and any dead-letter copy pg-boss made of one has
    // been handled by the consumer's dead-letter worker, the operation is as it was.
    await waitFor(
      async () => {
        const jobs = await boss.findJobs<OperationJob>('async.products', { data: { bulk } });
        const copies = await boss.findJobs<OperationJob>(DEAD_LETTER_QUEUE, { data: { bulk } });
        return (
          jobs.length === 3 &&
          jobs.every((j) => j.state === 'completed' || j.state === 'failed') &&
          copies.length === jobs.filter((j) => j.state === 'failed').length &&
          copies.every((j) => j.state === 'completed')
        );
      },
      15_000,
      "the operation's jobs and their dead-letter copies to be settled",
    );
    const [op] = await operations(bulk);
    assert.deepEqual(
      [op.status, op.error_code, op.result_message, op.attempts],
      [2, 1205, 'Lock wait timeout exceeded', 3],
    );
    assert.ok(op.serialized_data);
  });

  it('never runs an operation that is already finished; completes its job', async () => {
    // A finished operation whose job is still queued: its bulk was canceled before any worker got
    // to it. Both bulks go to a queue of their own, read by a consumer started only after the
    // cancel, so no worker can take the canceled one first.
    await ensureQueues(boss, ['later']);
    const seed = (sku: string) =>
      seedBulk(db.pool, boss, db.schema, { count: 1, entity: 'later', operationId: 'Counted', args: () => ({ sku }) });
    const canceled = await seed('done-0');
    await withTransaction(db.pool, (c) => cancelOn(c, db.schema, db.bossSchema, canceled));
    const open = await seed('done-1');
    const later = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      registry: invoker,
      queues: ['async.later'],
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
      log: silentLog,
    });
    try {
      await settled(open, 1);
      await waitFor(
        async () => (await boss.findJobs('async.later', { id: jobIdFor(canceled, 0) }))[0]?.state === 'completed',
        5000,
        'job completion',
      );
    } finally {
      await later.stop();
    }
    assert.equal(calls.get('counted:done-0') ?? 0, 0);
    assert.equal(calls.get('counted:done-1'), 1);
  });
});

describe('consumer --max-messages', () => {
  it('stops by itself after handling that many operations', async () => {
    const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    try {
      await ensureQueues(boss, ['maxmsg']);
      const bulk = await seedBulk(db.pool, boss, db.schema, { count: 25, operationId: 'Void', entity: 'maxmsg' });
      const consumer = await startConsumer({
        pool: db.pool,
        boss,
        schema: db.schema,
        registry: mapInvoker({ Void: () => null }),
        queues: ['async.maxmsg'],
        batchSize: 10,
        concurrency: 1,
        maxMessages: 10,
        log: silentLog,
      });
      await consumer.done;
      assert.equal(consumer.handled(), 10);
      const counts = await statusCounts(db.pool, db.schema, bulk);
      assert.deepEqual(counts, { 1: 10, 4: 15 });
    } finally {
      await boss.stop({ graceful: false });
    }
  });
});

describe('consumer dead letters', () => {
  it('closes an operation whose job ran out of attempts while it was open (status 2, never stranded)', async () => {
    const boss = await createBoss({
      connectionString: db.url,
      schema: db.bossSchema,
      supervise: true,
      superviseIntervalSeconds: 1,
      monitorVacuum: false,
    });
    try {
      await ensureQueues(boss, ['deadletter'], { retryLimit: 0, expireInSeconds: 1, heartbeatSeconds: null });
      const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'Void', entity: 'deadletter' });
      // A worker that takes the job and dies: nobody settles it, and it has no retries left.
      const [job] = await boss.fetch('async.deadletter');
      assert.ok(job);
      const consumer = await startConsumer({
        pool: db.pool,
        boss,
        schema: db.schema,
        registry: mapInvoker({}),
        queues: [],
        log: silentLog,
      });
      await waitFor(
        async () => (await statusCounts(db.pool, db.schema, bulk))[2] === 1,
        20_000,
        'the dead letter to close the operation',
      );
      const { rows } = await db.pool.query(
        `SELECT error_code, result_message FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1`,
        [bulk],
      );
      assert.equal(rows[0].error_code, 0);
      assert.match(rows[0].result_message, /did not finish/);
      await consumer.stop();
    } finally {
      await boss.stop({ graceful: false });
    }
  });
});
