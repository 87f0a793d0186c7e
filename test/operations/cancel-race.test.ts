/**
 * The cancel API crossing consumers' commits, with real processes: consumer processes record the
 * outcomes of a bulk's batches (operation rows in key order, then their jobs, in one statement)
 * while the cancel API cancels the same bulk (the bulk row, its unfinished operations in key
 * order, their jobs, then the cancel). Repeated until the two have crossed many times. Every
 * cancel answers 200 with the number of operations it canceled or flagged, never a 500 (a
 * deadlock that picks the cancel as its victim is retried, src/status/endpoints/cancel.ts), and
 * every operation ends final, the canceled ones `Canceled` unless they were running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { seedBulk, waitFor } from '../consumer/seed.ts';
import { startWorker, type Worker } from '../consumer/workers.ts';
import { post, signIn, silentLog, startHarness, type Harness } from '../status/helpers.ts';

const ROUNDS = 40;
const OPERATIONS = 100;
const WORKERS = 3;

let db: TestDatabase;
let boss: PgBoss;
let h: Harness;
const workers: Worker[] = [];
const warnings: string[] = [];

before(async () => {
  db = await createTestDatabase('cancel_race');
  const s = ident(db.schema);
  await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, pid int NOT NULL)`);
  await db.pool.query(`CREATE TABLE ${s}.run (sku text NOT NULL, pid int NOT NULL)`);
  boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 30, retryLimit: 0 });
  const { admin } = await signIn(db.pool, db.schema);
  h = await startHarness(db.pool, db.schema, {
    boss,
    entities: { PutV1ProductsSku: 'products' },
    // The cancel's conflicts, counted: each is one warning line and the cancel runs again.
    log: { ...silentLog, warn: (fields: unknown, message?: string) => void warnings.push(String(message ?? fields)) },
  });
  h.as(admin);
  // Small batches, many commits: each round crosses several of them. Nothing here expires or is
  // retried, and each bulk wakes the consumers with its NOTIFY: pg-boss's sweep at its default
  // 10 s and polls every 5 s, not the crash tests' 1 s and 0.5 s (idle, those cost three workers
  // 50 ms of PostgreSQL's CPU a second, a sixth of this file's).
  for (let w = 0; w < WORKERS; w++)
    workers.push(await startWorker(db, 1, 5, 4, { SUPERVISE_SECONDS: '10', POLL_SECONDS: '5' }));
});
after(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await h?.close();
  await boss.stop({ graceful: false });
  await db.drop();
});

test('cancel crossing consumers committing the same bulk answers every time, and says what it canceled', async (t) => {
  const s = ident(db.schema);
  const deadlocks = async () =>
    Number(
      (
        await db.pool.query<{ n: string }>(
          'SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()',
        )
      ).rows[0]!.n,
    );
  const before = await deadlocks();
  let crossed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const uuid = await seedBulk(db.pool, boss, db.schema, {
      count: OPERATIONS,
      args: (key) => ({ sku: `r${round}-${key}` }),
    });
    // Cancel once the consumers are in the middle of the bulk: some outcomes recorded, most not.
    const from = 5 + (round % 10) * 8;
    await waitFor(
      async () =>
        (
          await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.run WHERE sku LIKE $1`, [
            `r${round}-%`,
          ])
        ).rows[0]!.n >= from,
      30_000,
      `round ${round}: ${from} operations run`,
    );
    const res = await post(h, `/V1/bulk/${uuid}/cancel`);
    assert.equal(res.status, 200, `round ${round}: ${res.text}`);
    const { canceled } = JSON.parse(res.text) as { canceled: number };
    // What it answered is what it did: the operations it flagged, every one unfinished at the time.
    const flagged = await db.pool.query<{ n: number; canceled_now: number }>(
      `SELECT count(*) FILTER (WHERE canceled)::int AS n,
         count(*) FILTER (WHERE canceled AND result_message = 'Canceled')::int AS canceled_now
       FROM ${s}.operation WHERE bulk_uuid = $1`,
      [uuid],
    );
    assert.equal(canceled, flagged.rows[0]!.n, `round ${round}: answered ${canceled}`);
    if (canceled > 0) crossed++;
    await waitFor(
      async () =>
        (
          await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${s}.operation WHERE bulk_uuid = $1 AND (status = 4 OR will_retry)`,
            [uuid],
          )
        ).rows[0]!.n === 0,
      30_000,
      `round ${round}: the bulk to settle`,
      // Each look is a query (about 0.6 ms of this process's CPU and PostgreSQL's); the wait for the
      // cancel's moment above keeps the default, so the cancel still lands where it is meant to.
      50,
    );
  }
  assert.ok(crossed > 0, 'the cancel came while the consumers were in the middle of a bulk');
  // pg_stat_database counts the whole database's deadlocks (other test files' included): shown, not asserted.
  const retried = warnings.filter((w) => w.startsWith('cancel met a lock conflict')).length;
  t.diagnostic(
    `cancels in the middle of a bulk: ${crossed} of ${ROUNDS}; cancels run again after a lock conflict: ${retried}; ` +
      `deadlocks in the database: ${(await deadlocks()) - before}`,
  );
  for (const w of workers) assert.doesNotMatch(w.stderr(), /deadlock detected.*\n.*at /, 'no stack trace');
});
