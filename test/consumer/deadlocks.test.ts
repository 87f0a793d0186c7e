/**
 * Lock order with real consumers: several consumer processes on bulks that update the same skus
 * (ordered per sku, so every batch mixes operations of several bulks, and every commit writes
 * outcomes and counters of several bulks while other processes do the same), with short leases
 * so lease extensions run beside the commits: no deadlock is logged, and nothing runs twice.
 * And a deadlock that still happens at a batch's commit (another transaction locking crosswise
 * what the batch's handler wrote and the operation row its outcome needs) is one warning line,
 * and only the outcome write runs again, not the handler.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { orderRules, saveOrderRules } from '../../src/operations/order-keys.ts';
import { startConsumer } from '../../src/consumer/consumer.ts';
import { seedBulk, silentLog, waitFor } from './seed.ts';
import { startWorker, type Worker } from './workers.ts';
import { mapInvoker } from './invokers.ts';

const BULKS = 12;
const SKUS = 50;
const WORKERS = 4;

/** How often a wait of seconds looks again: each look is a query (about 0.6 ms of this process's CPU and PostgreSQL's). */
const POLL_MS = 100;

describe('lock order between consumers', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let s: string;
  const workers: Worker[] = [];

  before(async () => {
    db = await createTestDatabase('deadlocks');
    s = ident(db.schema);
    await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, pid int NOT NULL)`);
    await db.pool.query(`CREATE TABLE ${s}.run (sku text NOT NULL, pid int NOT NULL)`);
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    // Claims of 4 s (the queue's expiry, no heartbeat): extended every second, beside the batches'
    // completions of the same jobs.
    await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 4 });
    await saveOrderRules(
      db.pool,
      db.schema,
      orderRules([{ operationId: 'PutV1ProductsSku', entity: 'products', pathParams: ['sku'] }], new Map()),
    );
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await boss.stop({ graceful: false });
    await db.drop();
  });

  it('consumers recording outcomes of the same bulks never deadlock, and nothing runs twice', async () => {
    for (let b = 0; b < BULKS; b++) await seedBulk(db.pool, boss, db.schema, { count: SKUS });
    const total = BULKS * SKUS;
    for (let w = 0; w < WORKERS; w++) {
      workers.push(await startWorker(db, 2, 10, 2));
    }
    await waitFor(
      async () =>
        (
          await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${s}.operation WHERE status = 1 AND NOT will_retry`,
          )
        ).rows[0]!.n === total,
      120_000,
      'every operation to complete',
      POLL_MS,
    );
    for (const w of workers) w.child.kill('SIGTERM');
    const exits = await Promise.all(workers.map((w) => w.exited));
    const logs = workers.map((w) => w.stderr()).join('');
    assert.deepEqual(
      exits.map((e) => e.code),
      workers.map(() => 0),
      logs,
    );
    assert.doesNotMatch(logs, /deadlock|40P01/, 'a deadlock was logged');
    const runs = (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.run`)).rows[0]!.n;
    const effects = (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.effect`)).rows[0]!.n;
    assert.equal(effects, total, 'every effect once');
    assert.equal(runs, total, 'no handler ran twice');
  });

  it("a deadlock at a batch's commit is one warning line; the outcome is written again, the handler never runs again", async () => {
    await db.pool.query(`CREATE TABLE ${s}.hot (id int PRIMARY KEY, n int NOT NULL)`);
    await db.pool.query(`INSERT INTO ${s}.hot VALUES (1, 0)`);
    await ensureQueues(boss, ['deadlock_commit'], { heartbeatSeconds: null, expireInSeconds: 30 });
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 1, entity: 'deadlock_commit', operationId: 'Op' });
    let runs = 0;
    let wrote!: () => void;
    const written = new Promise<void>((resolve) => (wrote = resolve));
    let proceed!: () => void;
    const proceeding = new Promise<void>((resolve) => (proceed = resolve));
    const warnings: { obj: unknown; msg: string | undefined }[] = [];
    const consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      queues: ['async.deadlock_commit'],
      concurrency: 1,
      deadLetter: false,
      log: { ...silentLog, warn: (obj, msg) => warnings.push({ obj, msg }) },
      registry: mapInvoker({
        async Op(_args, ctx) {
          runs++;
          await ctx.tx.query(`UPDATE ${s}.hot SET n = n + 1 WHERE id = 1`);
          if (runs === 1) {
            wrote();
            await proceeding;
          }
          return null;
        },
      }),
    });
    // Another transaction: it locks the operation's row (the outcome write waits for it), then the
    // row the handler wrote (it waits for the batch): crosswise, a deadlock. Its own deadlock check
    // comes late (deadlock_timeout), so the batch's outcome write is the one that meets it; once
    // that was written again (and waits again), this transaction gives up.
    const other = await db.pool.connect();
    try {
      await written;
      await other.query(`BEGIN; SET LOCAL deadlock_timeout = '10min'`);
      const { rows } = await other.query<{ pid: number }>(
        `SELECT pg_backend_pid() AS pid FROM ${s}.operation WHERE bulk_uuid = $1 FOR UPDATE`,
        [bulk],
      );
      const pid = rows[0]!.pid;
      proceed();
      const blocked = async () =>
        (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid])).rowCount;
      await waitFor(blocked, 30_000, "the batch's outcome write to wait for the other transaction");
      const crosswise = other.query(`UPDATE ${s}.hot SET n = n + 1 WHERE id = 1`).then(
        () => null,
        (error: { code?: string }) => error.code,
      );
      await waitFor(
        async () => warnings.some((w) => /40P01/.test(JSON.stringify(w.obj))) && (await blocked()),
        30_000,
        "the batch's outcome write to meet the deadlock and wait again",
      );
      await db.pool.query('SELECT pg_cancel_backend($1)', [pid]);
      assert.equal(await crosswise, '57014', 'the other transaction waited until it was canceled');
      await other.query('ROLLBACK');
    } finally {
      other.release();
    }
    await waitFor(
      async () =>
        (await db.pool.query(`SELECT 1 FROM ${s}.operation WHERE bulk_uuid = $1 AND status = 1`, [bulk])).rowCount,
      30_000,
      'the operation to complete',
    );
    await consumer.stop();
    assert.equal(runs, 1, 'the handler ran once');
    assert.equal((await db.pool.query(`SELECT n FROM ${s}.hot`)).rows[0].n, 1, 'its write committed once');
    const deadlocks = warnings.filter((w) => /40P01/.test(JSON.stringify(w.obj)));
    assert.equal(deadlocks.length, 1, JSON.stringify(warnings));
    assert.ok(!('err' in (deadlocks[0]!.obj as object)), 'no error object, so no stack trace, in the line');
    assert.match(deadlocks[0]!.msg ?? '', /written again \(no operation runs again\)/);
  });
});
