/**
 * The consumer's own fetch loop: woken by pg-boss's NOTIFY rather than its poll, keeping a long
 * batch's jobs alive with heartbeats, and loading the operations in the fetch statement.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { notifyChannelSql } from 'pg-boss/dist/plans.js';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { jobIdFor } from '../../src/queue/names.ts';
import { startConsumer } from '../../src/consumer/consumer.ts';
import { normalizeBossSchema, notifyChannel } from '../../src/consumer/wake.ts';
import { foldedFetch, foldedFetchDb } from '../../src/queue/fetch-fold.ts';
import { claimFold } from '../../src/operations/claims.sql.ts';
import { deliveredOf } from '../../src/operations/claims.ts';
import { cancelOn } from '../../src/operations/cancel.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { seedBulk, silentLog, statusCounts, waitFor } from './seed.ts';
import { mapInvoker } from './invokers.ts';
import { simulatedWork } from '../support/wait.ts';

// One schema and one pg-boss schema for the file (setting up and dropping a pair costs PostgreSQL
// about a quarter of a second of CPU); each test has queues of its own entity, so none sees
// another's jobs.
let db: TestDatabase;
let boss: PgBoss;
before(async () => {
  db = await createTestDatabase('loop');
  boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
});
after(async () => {
  await boss?.stop({ graceful: false });
  await db?.drop();
});

describe('consumer fetch loop', () => {
  it("listens on pg-boss's own NOTIFY channel", async () => {
    for (const schema of [db.bossSchema, `"${db.bossSchema}"`, 'Mixed_Case', 'pgboss']) {
      const { rows } = await db.pool.query(`SELECT ${notifyChannelSql(schema)} AS channel`);
      assert.equal(await notifyChannel(boss, schema), rows[0].channel, schema);
    }
    assert.equal(normalizeBossSchema('"abc"'), 'abc');
    assert.equal(normalizeBossSchema('"Abc"'), '"Abc"');
  });

  it('an idle consumer wakes on NOTIFY, long before its poll interval', async () => {
    const fetch = boss.fetch.bind(boss) as (...a: unknown[]) => Promise<unknown[] | null>;
    try {
      await ensureQueues(boss, ['wake']);
      // Fetches that came back empty: after one per loop, both loops are asleep (one polls every 30 s,
      // the other waits for a wake-up). The fetch runs on connections of its own
      // (src/queue/fetch-plan.ts), so it is observed where the consumer calls pg-boss.
      let emptyFetches = 0;
      // On the instance itself: the consumer finds the boss's schema by its identity (a proxy would hide it).
      Object.assign(boss, {
        fetch: async (...args: unknown[]) => {
          const jobs = (await fetch(...args)) ?? [];
          if (jobs.length === 0) emptyFetches++;
          return jobs;
        },
      });
      const consumer = await startConsumer({
        pool: db.pool,
        boss,
        schema: db.schema,
        registry: mapInvoker({ Void: () => null }),
        queues: ['async.wake'],
        batchSize: 10,
        concurrency: 2,
        pollingIntervalSeconds: 30,
        notifyPollingIntervalSeconds: 30,
        log: silentLog,
      });
      try {
        await waitFor(() => emptyFetches >= 2, 5000, 'both loops to find the queue empty');
        const bulk = await seedBulk(db.pool, boss, db.schema, { count: 3, operationId: 'Void', entity: 'wake' });
        await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 3, 5000, 'the wake-up');
      } finally {
        await consumer.stop();
      }
    } finally {
      // The file's other tests share this instance.
      Object.assign(boss, { fetch });
    }
  });

  it('a batch that runs past its heartbeat keeps its jobs: the operation runs once', async () => {
    // A second instance on the file's pg-boss schema, supervising as a consumer's does.
    const supervisor = await createBoss({
      connectionString: db.url,
      schema: db.bossSchema,
      supervise: true,
      superviseIntervalSeconds: 1,
      monitorVacuum: false,
    });
    try {
      // pg-boss's smallest heartbeat is 10 s; without touches the supervisor fails the job at ~10 s
      // and the second loop runs it again.
      await ensureQueues(supervisor, ['heartbeat'], { heartbeatSeconds: 10, expireInSeconds: 60, retryDelay: 0 });
      let calls = 0;
      const consumer = await startConsumer({
        pool: db.pool,
        boss: supervisor,
        schema: db.schema,
        registry: mapInvoker({
          Slow: async () => {
            calls++;
            await simulatedWork(13_000);
            return null;
          },
        }),
        queues: ['async.heartbeat'],
        batchSize: 1,
        concurrency: 2,
        pollingIntervalSeconds: 0.5,
        notifyPollingIntervalSeconds: 0.5,
        log: silentLog,
      });
      try {
        const bulk = await seedBulk(db.pool, supervisor, db.schema, {
          count: 1,
          operationId: 'Slow',
          entity: 'heartbeat',
        });
        await waitFor(
          async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 1,
          20_000,
          'the slow operation',
          // It takes 13 s: each look is a query (about 0.6 ms of this process's CPU and PostgreSQL's).
          200,
        );
        assert.equal(calls, 1);
        const [job] = await supervisor.findJobs('async.heartbeat', { id: jobIdFor(bulk, 0) });
        assert.equal(job?.state, 'completed');
        assert.equal(job?.retryCount, 0);
      } finally {
        await consumer.stop();
      }
    } finally {
      await supervisor.stop({ graceful: false });
    }
  });
});

describe('fetch with claims', () => {
  it("folds the claim into pg-boss's fetch statement (pinned to the installed pg-boss), and leaves other shapes alone", async () => {
    await ensureQueues(boss, ['fold']);
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 2, operationId: 'Void', entity: 'fold' });
    // A finished operation whose job is still queued: a bulk canceled before any worker got to it.
    const canceled = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'Void', entity: 'fold' });
    await withTransaction(db.pool, (c) => cancelOn(c, db.schema, db.bossSchema, canceled));
    const versions = async () =>
      (
        await db.pool.query(
          `SELECT xmin::text FROM ${db.schema}.operation WHERE bulk_uuid = ANY($1) ORDER BY bulk_uuid, operation_key`,
          [[bulk, canceled]],
        )
      ).rows;
    const before = await versions();
    const texts: string[] = [];
    const fetchDb = foldedFetchDb(db.pool, claimFold(db.schema));
    const jobs = await boss.fetch<{ bulk: string; key: number }>('async.fold', {
      batchSize: 10,
      db: { executeSql: (text, values) => (texts.push(text), fetchDb.executeSql(text, values)) },
    });
    assert.ok(foldedFetch(texts[0]!, claimFold(db.schema)), 'pg-boss fetch has the shape the fold expects');
    assert.equal(jobs.length, 3);
    const byKey = new Map(jobs.map((j) => [j.data.bulk === canceled ? 2 : j.data.key, deliveredOf(j)]));
    const first = byKey.get(0);
    assert.ok(first && 'row' in first);
    assert.equal(first.row.bulk_uuid, bulk);
    assert.equal(first.row.operation_key, 0);
    assert.equal(first.job.retryCount, 0, 'the claim is the delivery itself, its first attempt');
    const second = byKey.get(1);
    assert.ok(second && 'row' in second);
    assert.equal(second.row.operation_id, 'Void');
    assert.equal(second.row.store_id, 1);
    // Finished already: delivered, but nothing to claim.
    const third = byKey.get(2);
    assert.ok(third && 'reason' in third);
    assert.equal(third.reason, 'done');
    assert.deepEqual(await versions(), before, 'claiming writes no operation row');
    const held = await db.pool.query(
      `SELECT count(*)::int AS n FROM ${db.bossSchema}.job WHERE data->>'bulk' = $1 AND state = 'active'`,
      [bulk],
    );
    assert.equal(held.rows[0].n, 2, 'both claimed operations are held by their active jobs');
    assert.equal(foldedFetch('SELECT 1', claimFold(db.schema)), null);
    assert.equal(foldedFetch('WITH x AS (SELECT 1) SELECT * FROM x', claimFold(db.schema)), null);
    assert.equal(deliveredOf({ id: 'x' }), undefined);
  });
});
