/**
 * One clock for a bulk's times. Magento stamps `start_time` with the database's CURRENT_TIMESTAMP
 * when the bulk row is inserted (etc/db_schema.xml at 2.4.8); here every time of a bulk and its
 * operations (start_time, started_at, finished_at) is the database's as well, so an accepting or
 * consuming host whose clock is off cannot order them wrongly. Real processes: a bulk accepted by
 * a process whose clock runs an hour ahead, consumed by one whose clock runs an hour behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { statusCounts, waitFor } from '../consumer/seed.ts';
import { startWorker, type Worker } from '../consumer/workers.ts';

const SKEWED = fileURLToPath(new URL('./fixtures/skewed-clock.ts', import.meta.url));
const ACCEPT = fileURLToPath(new URL('./fixtures/accept-bulk.ts', import.meta.url));
const HOUR = 3_600_000;

let db: TestDatabase;
let boss: PgBoss;
let worker: Worker | undefined;

before(async () => {
  db = await createTestDatabase('clocks');
  const s = ident(db.schema);
  // The worker fixture's handler writes these (test/consumer/fixtures/worker.ts).
  await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, pid int NOT NULL)`);
  await db.pool.query(`CREATE TABLE ${s}.run (sku text NOT NULL, pid int NOT NULL)`);
  boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  await ensureQueues(boss, ['products'], {
    expireInSeconds: 60,
    heartbeatSeconds: null,
    retryLimit: 0,
    retryDelay: 1,
    retryBackoff: false,
  });
});
after(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await boss.stop({ graceful: false });
  await db.drop();
});

/** Accepts a bulk from a child process whose clock is `skewMs` off; resolves to its uuid. */
function acceptFromSkewedHost(count: number, skewMs: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', SKEWED, ACCEPT, db.schema, db.bossSchema, String(count)], {
    env: { ...process.env, DATABASE_URL: db.url, CLOCK_SKEW_MS: String(skewMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`accept exited ${code}: ${err}`)),
    ),
  );
}

test('start_time, started_at and finished_at come from the database clock, whatever the hosts say', async () => {
  const uuid = await acceptFromSkewedHost(6, HOUR);
  worker = await startWorker(db, 5, 3, 2, { NODE_OPTIONS: `--import=${SKEWED}`, CLOCK_SKEW_MS: String(-HOUR) });
  await waitFor(
    async () => (await statusCounts(db.pool, db.schema, uuid))[1] === 6,
    60_000,
    'the six operations to complete',
  );

  const s = ident(db.schema);
  const { rows } = await db.pool.query<{ start_time: Date; started_at: Date; finished_at: Date; db_now: Date }>(
    `SELECT b.start_time, o.started_at, o.finished_at, now() AT TIME ZONE 'UTC' AS db_now
     FROM ${s}.bulk b JOIN ${s}.operation o ON o.bulk_uuid = b.uuid WHERE b.uuid = $1 ORDER BY o.operation_key`,
    [uuid],
  );
  assert.equal(rows.length, 6);
  for (const [i, r] of rows.entries()) {
    // The accepting host is an hour ahead: its clock would put start_time in the database's future.
    assert.ok(r.start_time <= r.db_now, `${i}: start_time ${r.start_time.toISOString()} is not in the future`);
    assert.ok(r.db_now.getTime() - r.start_time.getTime() < HOUR / 2, `${i}: start_time is the database's`);
    // The consuming host is an hour behind: its clock would start the operation before the bulk.
    assert.ok(
      r.start_time <= r.started_at,
      `${i}: start_time ${r.start_time.toISOString()} <= started_at ${r.started_at.toISOString()}`,
    );
    assert.ok(r.started_at <= r.finished_at, `${i}: started_at <= finished_at`);
    assert.ok(r.finished_at <= r.db_now, `${i}: finished_at is not in the future`);
  }
  // The accept transaction's own second: its jobs were inserted with the same now(), and a
  // whole-second column must not round it up into the next second, after work has started.
  const accepted = await db.pool.query<{ start_time: Date; second: Date }>(
    `SELECT b.start_time, date_trunc('second', min(j.created_on) AT TIME ZONE 'UTC') AS second
     FROM ${s}.bulk b JOIN ${ident(db.bossSchema)}.job j ON j.data->>'bulk' = b.uuid::text
     WHERE b.uuid = $1 GROUP BY b.start_time`,
    [uuid],
  );
  assert.equal(accepted.rows[0]!.start_time.toISOString(), accepted.rows[0]!.second.toISOString());
  // Through the status API's format too: start_time as the database read it.
  const status = await db.pool.query<{ start_time: string }>(
    `SELECT to_char(start_time, 'YYYY-MM-DD HH24:MI:SS') AS start_time FROM ${s}.bulk WHERE uuid = $1`,
    [uuid],
  );
  assert.match(status.rows[0]!.start_time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});
