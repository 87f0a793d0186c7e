/**
 * Consumers as separate processes: killed with SIGKILL mid-bulk, several at once on one bulk, and
 * stopped with SIGTERM. Effects are rows in an `effect` table written through ctx.tx, so an
 * operation that ran twice would leave two rows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { seedBulk, statusCounts, waitFor } from './seed.ts';
import { startWorker, type Worker } from './workers.ts';
import { simulatedWork } from '../support/wait.ts';

describe('consumer processes', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let s: string;
  const children: Worker[] = [];

  before(async () => {
    db = await createTestDatabase('crash');
    s = ident(db.schema);
    await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, pid int NOT NULL)`);
    await db.pool.query(`CREATE TABLE ${s}.run (sku text NOT NULL, pid int NOT NULL)`);
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    // A short expiry so a killed worker's jobs come back within seconds (heartbeats need ≥ 10 s).
    await ensureQueues(boss, ['products'], {
      expireInSeconds: 4,
      heartbeatSeconds: null,
      retryLimit: 5,
      retryDelay: 1,
      retryBackoff: false,
    });
  });
  after(async () => {
    for (const w of children) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await boss.stop({ graceful: false });
    await db.drop();
  });

  const effects = async (prefix: string) =>
    (
      await db.pool.query<{ total: number; distinct: number }>(
        `SELECT count(*)::int AS total, count(DISTINCT sku)::int AS distinct FROM ${s}.effect WHERE sku LIKE $1`,
        [`${prefix}-%`],
      )
    ).rows[0]!;

  /** How often a wait of seconds looks again: each look is a query (about 0.6 ms of this process's CPU and PostgreSQL's). */
  const POLL_MS = 100;

  const allComplete = (bulk: string, n: number) => async () => (await statusCounts(db.pool, db.schema, bulk))[1] === n;

  // 200 operations: ten batches of 20, so the kill lands with batches in hand and more still open
  // (1,000 proved nothing more and cost 20 s of a 2-core run).
  it('a worker killed with SIGKILL mid-bulk: every operation completes, every effect exactly once', async () => {
    const n = 200;
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: n, args: (k) => ({ sku: `kill-${k}` }) });
    const first = await startWorker(db, 5);
    children.push(first);
    await waitFor(async () => (await effects('kill')).total >= 30, 30_000, 'the first worker to get going');
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const before = await statusCounts(db.pool, db.schema, bulk);
    assert.ok((before[4] ?? 0) > 0, 'the kill must land mid-bulk');

    const second = await startWorker(db, 5);
    children.push(second);
    await waitFor(allComplete(bulk, n), 90_000, 'every operation to complete', POLL_MS);
    const e = await effects('kill');
    assert.deepEqual(e, { total: n, distinct: n });
    // The only run twice allowed: the ones the killed process had started (at most its two batches
    // in hand), whose writes died with it.
    const r = await runs('kill');
    assert.equal(r.distinct, n);
    assert.ok(r.total - n <= 2 * 20, `${r.total - n} runs repeated`);
    const active = await boss.findJobs('async.products', { data: { bulk }, queued: true });
    assert.equal(active.length, 0);

    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  const runs = async (prefix: string) =>
    (
      await db.pool.query<{ total: number; distinct: number }>(
        `SELECT count(*)::int AS total, count(DISTINCT sku)::int AS distinct FROM ${s}.run WHERE sku LIKE $1`,
        [`${prefix}-%`],
      )
    ).rows[0]!;

  it('handlers slower than the job expiry, two processes: every operation runs once, none is closed as abandoned', async () => {
    // 20 operations of 400 ms per batch take 8 s, twice the queue's 4 s expiry: pg-boss hands the
    // jobs to the other process while the first still works through them.
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 120, args: (k) => ({ sku: `slow-${k}` }) });
    const workers = await Promise.all([startWorker(db, 400, 20, 1), startWorker(db, 400, 20, 1)]);
    children.push(...workers);
    await waitFor(allComplete(bulk, 120), 120_000, 'every operation to complete', POLL_MS);
    assert.deepEqual(await runs('slow'), { total: 120, distinct: 120 }, 'runs');
    assert.deepEqual(await effects('slow'), { total: 120, distinct: 120 }, 'effects');
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) assert.equal((await w.exited).code, 0);
  });

  it('upstream calls slower than the job expiry, two processes: each operation reaches the upstream once', async () => {
    // A loopback upstream answering in 400 ms: batches of 20 take 8 s against a 4 s expiry.
    const calls = new Map<string, number>();
    const upstream = createServer((req, res) => {
      const key = String(req.headers['idempotency-key']);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      req.resume();
      void simulatedWork(400).then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
      const bulk = await seedBulk(db.pool, boss, db.schema, { count: 80, args: (k) => ({ sku: `up-${k}` }) });
      const workers = await Promise.all([
        startWorker(db, 0, 20, 1, { UPSTREAM_URL: url }),
        startWorker(db, 0, 20, 1, { UPSTREAM_URL: url }),
      ]);
      children.push(...workers);
      await waitFor(allComplete(bulk, 80), 120_000, 'every operation to complete', POLL_MS);
      assert.equal(calls.size, 80);
      assert.deepEqual(
        [...calls.entries()].filter(([, n]) => n !== 1),
        [],
        'upstream calls made more than once',
      );
      assert.ok(
        [...calls.keys()].every((k) => k.startsWith(`${bulk}:`)),
        'Idempotency-Key is <bulk_uuid>:<key>',
      );
      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) assert.equal((await w.exited).code, 0);
    } finally {
      upstream.close();
    }
  });

  it('a worker stalled past its lease while another takes its claims over: its batch transaction rolls back, every effect once', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 20, args: (k) => ({ sku: `lapse-${k}` }) });
    // One handler slot: it claims one operation at a time. It stalls at the end of its third run,
    // inside that batch's shared transaction, until the test lets it go: its jobs (its claims) are
    // not extended, the queue's 4 s expiry hands them on, and the other worker does all the work.
    // Let go, its handler has returned, so it tries to commit: the claims' attempts fence its
    // outcomes out.
    const stalled = await startWorker(db, 5, 20, 1, { IN_FLIGHT: '1', STALL_AFTER: '3' });
    children.push(stalled);
    await waitFor(() => stalled.stderr().includes('stalled'), 30_000, 'the worker to stall');
    const taker = await startWorker(db, 5, 20, 1);
    children.push(taker);
    await waitFor(allComplete(bulk, 20), 90_000, 'every operation to complete', POLL_MS);
    stalled.release();
    await waitFor(
      async () => stalled.stderr().includes('claim lapsed'),
      30_000,
      'the stalled worker to find its claims taken over',
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; its log: ${stalled.stderr()}`);
    });
    assert.deepEqual(await effects('lapse'), { total: 20, distinct: 20 }, 'effects');
    const r = await runs('lapse');
    assert.equal(r.distinct, 20);
    // Run twice: only the one the stalled worker had run in its transaction (rolled back).
    assert.equal(r.total - 20, 1, `${r.total - 20} runs repeated`);
    // The stalled worker's first two runs committed before it stalled; the third is the taker's.
    const { rows } = await db.pool.query(
      `SELECT count(*) FILTER (WHERE pid = $1)::int AS stalled, count(*) FILTER (WHERE pid = $2)::int AS taker
       FROM ${s}.effect WHERE sku LIKE 'lapse-%'`,
      [stalled.child.pid, taker.child.pid],
    );
    assert.deepEqual(rows[0], { stalled: 2, taker: 18 }, 'committed effects by worker');
    // The stalled worker's deliveries, given back, find the operations done: nothing stays queued.
    await waitFor(
      async () => (await boss.findJobs('async.products', { data: { bulk }, queued: true })).length === 0,
      30_000,
      'no delivery left queued',
    );
    for (const w of [stalled, taker]) w.child.kill('SIGTERM');
    for (const w of [stalled, taker]) assert.equal((await w.exited).code, 0);
  });

  for (const n of [2, 4]) {
    it(`${n} consumer processes on one bulk: each operation runs once`, async () => {
      const prefix = `multi${n}`;
      const count = 200;
      // Every process ready before the bulk arrives, so all of them compete for its 20 batches from
      // the first fetch on (a bulk of 1,000 sent before they started only made a head start too
      // short to matter, at 27 s of a 2-core run for the two sizes).
      const workers = await Promise.all(Array.from({ length: n }, () => startWorker(db, 2, 10, 2)));
      children.push(...workers);
      const bulk = await seedBulk(db.pool, boss, db.schema, { count, args: (k) => ({ sku: `${prefix}-${k}` }) });
      await waitFor(allComplete(bulk, count), 90_000, 'every operation to complete', POLL_MS);
      assert.deepEqual(await effects(prefix), { total: count, distinct: count });
      assert.deepEqual(await runs(prefix), { total: count, distinct: count }, 'runs');
      const { rows } = await db.pool.query(`SELECT count(DISTINCT pid)::int AS n FROM ${s}.effect WHERE sku LIKE $1`, [
        `${prefix}-%`,
      ]);
      assert.ok(rows[0].n >= 2, 'the work is shared between processes');
      for (const w of workers) w.child.kill('SIGTERM');
      for (const w of workers) assert.equal((await w.exited).code, 0);
    });
  }

  it('SIGTERM finishes the operation in hand, gives the rest of its batch back at once, and exits 0', async () => {
    const bulk = await seedBulk(db.pool, boss, db.schema, { count: 100, args: (k) => ({ sku: `term-${k}` }) });
    // Batches of five, one handler at a time; the third run is held until SIGTERM: it is the
    // operation in hand, two of its batch have run and two wait their turn.
    const worker = await startWorker(db, 5, 5, 1, { IN_FLIGHT: '1', HOLD_AT: '3' });
    children.push(worker);
    await waitFor(() => worker.stderr().includes('holding'), 30_000, 'the worker to hold its third run');
    worker.child.kill('SIGTERM');
    assert.equal((await worker.exited).code, 0);
    const counts = await statusCounts(db.pool, db.schema, bulk);
    const e = await effects('term');
    // The one in hand finished and was recorded with the two before it: the two waiting never ran.
    assert.deepEqual(e, { total: 3, distinct: 3 });
    assert.equal(counts[1], 3);
    // What it had not run is free for the next worker at once: no claim (no active job), a queued job each.
    const jobs = await boss.findJobs('async.products', { data: { bulk }, queued: true });
    assert.equal(jobs.filter((j) => j.state === 'active').length, 0);
    assert.equal(new Set(jobs.map((j) => (j.data as { key: number }).key)).size, 97);
  });
});
