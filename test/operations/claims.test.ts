/**
 * Claims (src/operations/claims.ts): an operation starts only while more than half its claim is
 * left, by the database's clock. The claim is the delivering job, which pg-boss hands on once its
 * expiry (counted from the fetching statement's start) is past. The local clock starts no later
 * than the database's: at the statement that fetches, not when its answer arrives, so a slow fetch
 * (here, one that waits for a lock another transaction holds) cannot make a handler outlive it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { startConsumer } from '../../src/consumer/consumer.ts';
import { seedBulk, silentLog, statusCounts, waitFor } from '../consumer/seed.ts';
import { mapInvoker } from '../consumer/invokers.ts';
import { simulatedWork } from '../support/wait.ts';

const EXPIRE_SECONDS = 6;

test('a claim that took 4 s of a 6 s expiry does not start its operation: it is claimed again with a whole one', async (t) => {
  const db = await createTestDatabase('claims');
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  t.after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });
  await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: EXPIRE_SECONDS });
  const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, operationId: 'Probe' });
  const s = ident(db.schema);
  // Another transaction holds the operation table: the consumer's fetch (which reads it) waits.
  const holder = await db.pool.connect();
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE ${s}.operation IN ACCESS EXCLUSIVE MODE`);
  const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  /** Seconds of the delivering job's expiry left when each run started. */
  const leftAtStart: number[] = [];
  const consumer = await startConsumer({
    pool: db.pool,
    boss,
    schema: db.schema,
    queues: ['async.products'],
    concurrency: 1,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    deadLetter: false,
    log: silentLog,
    registry: mapInvoker({
      async Probe(_args, ctx) {
        const { rows } = await db.pool.query<{ left: number }>(
          `SELECT extract(epoch FROM started_on + expire_seconds * interval '1s' - clock_timestamp())::float AS left
           FROM ${ident(db.bossSchema)}.job WHERE data->>'bulk' = $1 AND data->>'key' = $2 AND state = 'active'`,
          [ctx.operation.bulkUuid, String(ctx.operation.key)],
        );
        leftAtStart.push(rows[0]!.left);
        return null;
      },
    }),
  });
  t.after(() => consumer.stop());
  // The fetch is waiting on the lock by now (it runs at the consumer's start), and keeps waiting.
  await waitFor(
    async () =>
      (
        await db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE $1::int = ANY(pg_blocking_pids(pid)) AND application_name LIKE '%:fetch'`,
          [holderPid],
        )
      ).rows[0]!.n > 0,
    10_000,
    'the fetch to wait for the table',
  );
  // The other transaction's work takes 4 s of the 6 s expiry.
  await simulatedWork(4000);
  await holder.query('COMMIT');
  holder.release();
  await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 1, 20_000, 'the operation to run');
  assert.equal(leftAtStart.length, 1);
  assert.ok(
    leftAtStart[0]! > EXPIRE_SECONDS / 2,
    `it started with ${leftAtStart[0]!.toFixed(1)} s of its ${EXPIRE_SECONDS} s expiry left`,
  );
});

test('a job whose payload is no operation address is completed, and the operations delivered with it run', async (t) => {
  const db = await createTestDatabase('claims_payload');
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  t.after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });
  await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 60 });
  // Put there by some other writer: the folded fetch's unchecked casts fail on them, so their
  // batch is fetched again without the fold and claimed with the checked ones (claims.sql.ts).
  const strays = await Promise.all(
    [
      { bulk: 'not-a-uuid', key: 1 },
      { bulk: '00000000-0000-0000-0000-000000000000', key: 'x' },
      { bulk: '00000000-0000-0000-0000-000000000000', key: 99_999_999_999 },
    ].map((data) => boss.send('async.products', data)),
  );
  const bulk = await seedBulk(db.pool, boss, db.schema, { count: 5, operationId: 'Probe' });
  let ran = 0;
  const consumer = await startConsumer({
    pool: db.pool,
    boss,
    schema: db.schema,
    queues: ['async.products'],
    concurrency: 1,
    deadLetter: false,
    log: silentLog,
    registry: mapInvoker({ Probe: () => void ran++ }),
  });
  t.after(() => consumer.stop());
  await waitFor(async () => (await statusCounts(db.pool, db.schema, bulk))[1] === 5, 20_000, 'the operations to run');
  assert.equal(ran, 5);
  const { rows } = await db.pool.query<{ state: string }>(
    `SELECT state FROM ${ident(db.bossSchema)}.job WHERE id = ANY($1::uuid[])`,
    [strays],
  );
  assert.deepEqual(
    rows.map((r) => r.state),
    ['completed', 'completed', 'completed'],
  );
});
