/**
 * PostgreSQL restarted under load, with consumer processes running: an embedded server this test
 * owns (never the machine's shared one) is stopped mid-bulk and started again on the same port.
 * Counted: every operation completes, every effect exactly once, runs repeated only for the
 * operations in hand at the restart (their batches' uncommitted transactions), and no
 * error-level log line for the expected reconnects.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PgBoss } from 'pg-boss';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/dev/embedded.ts';
import { createPool, ident, type Pool } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { seedBulk, statusCounts, waitFor } from './seed.ts';
import { startWorker, type Worker } from './workers.ts';

const dataDir = resolve(`var/test-restart-${randomBytes(4).toString('hex')}`);
const schema = 'restart_t';
const bossSchema = 'restart_tb';
const s = ident(schema);
/** The queue's heartbeat: how long a claim (its job) lasts unextended. */
const LAPSE_SECONDS = 120;

/** How often a wait of seconds looks again: each look is a query (about 0.6 ms of this process's CPU and PostgreSQL's). */
const POLL_MS = 100;

describe('PostgreSQL restarted under load', () => {
  let server: EmbeddedPostgres;
  let pool: Pool;
  let boss: PgBoss;
  const workers: Worker[] = [];

  before(async () => {
    server = await startEmbeddedPostgres({ dataDir, settings: { fsync: 'off' } });
    pool = createPool({ connectionString: server.url, max: 4, applicationName: 'test:restart' });
    await migrate(pool, schema);
    await pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, pid int NOT NULL)`);
    await pool.query(`CREATE TABLE ${s}.run (sku text NOT NULL, pid int NOT NULL)`);
    boss = await createBoss({ connectionString: server.url, schema: bossSchema });
    // Heartbeats (claims) of two minutes: work that resumes within the test's bound was given back
    // at the restart, never freed by a lapse.
    await ensureQueues(boss, ['products'], { retryDelay: 1, retryBackoff: false, heartbeatSeconds: LAPSE_SECONDS });
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await boss?.stop({ graceful: false }).catch(() => {});
    await pool?.end().catch(() => {});
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const count = async (table: string) =>
    (
      await pool.query<{ total: number; distinct: number }>(
        `SELECT count(*)::int AS total, count(DISTINCT sku)::int AS distinct FROM ${s}.${table}`,
      )
    ).rows[0]!;

  it('every operation completes, effects exactly once, runs repeated only for those in hand', async (t) => {
    // Enough that the restart lands mid-bulk (at least 100 done and at most 80 in hand when it
    // stops) with work left after it: 600 showed nothing more, at twice the operations' CPU.
    const n = 300;
    const bulk = await seedBulk(pool, boss, schema, { count: n, args: (k) => ({ sku: `r-${k}` }) });
    const db = { url: server.url, schema, bossSchema };
    workers.push(await startWorker(db, 10, 20, 2), await startWorker(db, 10, 20, 2));
    await waitFor(async () => (await count('effect')).total >= 100, 30_000, 'the workers to get going');

    const logged = workers.map((w) => w.stderr().length);
    await server.stop();
    // Down until every worker has met the outage (a warning logged since the stop).
    await waitFor(
      () => workers.every((w, i) => /"level":40/.test(w.stderr().slice(logged[i]))),
      30_000,
      'each worker to log the outage',
    );
    server = await startEmbeddedPostgres({ dataDir, port: server.port, settings: { fsync: 'off' } });
    const back = Date.now();
    const before = (await count('effect').catch(() => ({ total: 0 }))).total;
    let resumedMs = -1;

    await waitFor(
      async () => {
        try {
          if (resumedMs < 0 && (await count('effect')).total > before) resumedMs = Date.now() - back;
          return (await statusCounts(pool, schema, bulk))[1] === n;
        } catch {
          return false; // our own pool reconnecting
        }
      },
      90_000,
      'every operation to complete after the restart',
      POLL_MS,
    );
    const tookMs = Date.now() - back;
    assert.deepEqual(await count('effect'), { total: n, distinct: n });
    const runs = await count('run');
    assert.equal(runs.distinct, n);
    // In hand at the restart: every operation of a batch whose shared transaction had not
    // committed (it commits once per batch), so at most a whole batch per fetch loop: 2 workers ×
    // 2 loops × 20. Their writes rolled back with the connection, so they ran again; committed
    // effects never repeat (the count above).
    t.diagnostic(
      `resumed ${resumedMs} ms and finished ${tookMs} ms after the restart; ${runs.total - n} runs repeated`,
    );
    const said = new Map<string, number>();
    for (const w of workers)
      for (const line of w.stderr().split('\n'))
        if (line) {
          const msg = (JSON.parse(line) as { msg?: string }).msg ?? line;
          said.set(msg, (said.get(msg) ?? 0) + 1);
        }
    t.diagnostic(`worker log: ${JSON.stringify([...said])}`);
    assert.ok(runs.total - n <= 2 * 2 * 20, `${runs.total - n} runs repeated`);
    // Work resumes long before a lease or heartbeat could lapse: the claims and jobs of failed
    // batches are given back as soon as the database answers (a loaded machine takes seconds).
    assert.ok(resumedMs >= 0 && resumedMs < (LAPSE_SECONDS / 2) * 1000, `resumed ${resumedMs} ms after the restart`);
    for (const w of workers) {
      const errors = w
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"level":50'));
      assert.deepEqual(errors, [], 'reconnects are not errors');
    }
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) assert.equal((await w.exited).code, 0);
  });
});
