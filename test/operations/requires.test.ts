/**
 * Operations that wait for what they reference (src/operations/requires.ts), driven through real
 * consumer processes (fixtures/requires-worker.ts): an operation whose required key has an
 * unfinished operation waits for it, runs after it completes, fails naming it when it fails, gives
 * up at the wait limit naming the key, and a cycle fails its members naming the cycle.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { orderRules, saveOrderRules } from '../../src/operations/order-keys.ts';
import { seedBulk, waitFor } from '../consumer/seed.ts';
import { createMetrics } from '../../src/metrics/registry.ts';

const WORKER = fileURLToPath(new URL('./fixtures/requires-worker.ts', import.meta.url));

/** How often a wait of seconds looks again: each look is a query (about 0.6 ms of this process's CPU and PostgreSQL's). */
const POLL_MS = 100;

interface Item {
  sku: string;
  parents?: string[];
  fail?: boolean;
  sleepMs?: number;
}

describe('operations that wait for what they reference', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let s: string;
  const children: { kill(signal: NodeJS.Signals): void; exited: Promise<number | null>; stderr(): string }[] = [];

  before(async () => {
    db = await createTestDatabase('requires');
    s = ident(db.schema);
    await db.pool.query(
      `CREATE TABLE ${s}.run (seq bigserial PRIMARY KEY, sku text NOT NULL, phase text NOT NULL, pid int NOT NULL)`,
    );
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products']);
    // A product provides its sku: `PUT /V1/products/{sku}`'s path parameter.
    await saveOrderRules(
      db.pool,
      db.schema,
      orderRules([{ operationId: 'PutV1ProductsSku', entity: 'products', pathParams: ['sku'] }], new Map()),
    );
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await boss.stop({ graceful: false });
    await db.drop();
  });

  async function startWorker(concurrency: number, batchSize: number, env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [WORKER, db.schema, db.bossSchema, String(concurrency), String(batchSize)], {
      env: { ...process.env, DATABASE_URL: db.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${stderr}`)));
    });
    const handle = { kill: (signal: NodeJS.Signals) => child.kill(signal), exited, stderr: () => stderr };
    children.push(handle);
    return handle;
  }

  async function stop(workers: Awaited<ReturnType<typeof startWorker>>[]) {
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) assert.equal(await w.exited, 0);
  }

  const seed = (items: Item[]) =>
    seedBulk(db.pool, boss, db.schema, {
      count: items.length,
      args: (k) => items[k],
      topic: 'async.V1.products.sku.PUT',
    });

  const finished = (bulk: string) => async () =>
    (await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.operation WHERE bulk_uuid = $1 AND status = 4`, [bulk]))
      .rows[0].n === 0;

  const operations = async (bulk: string) =>
    (
      await db.pool.query<{ operation_key: number; status: number; attempts: number; result_message: string | null }>(
        `SELECT operation_key, status, attempts, result_message FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
        [bulk],
      )
    ).rows;

  // 300 children in 15 batches of 20 ahead of their 100 parents: every one of the 8 loops starts on
  // children that must wait, as in a bulk of any size. How fast it goes: bench/requires.bench.ts.
  it('a 400-item bulk whose children precede their parents, 2 processes of 4 loops: all complete, each child after its parent', async () => {
    const items: Item[] = [
      ...Array.from({ length: 300 }, (_, i) => ({ sku: `c-${i}`, parents: [`p-${i % 100}`] })),
      ...Array.from({ length: 100 }, (_, i) => ({ sku: `p-${i}` })),
    ];
    // Both ready before the bulk arrives, so both share it however slowly a process starts.
    const workers = await Promise.all([startWorker(4, 20), startWorker(4, 20)]);
    const bulk = await seed(items);
    await waitFor(finished(bulk), 120_000, 'every operation to be final', POLL_MS);
    const ops = await operations(bulk);
    assert.deepEqual(
      ops.filter((o) => o.status !== 1 || o.attempts !== 1),
      [],
      'every operation complete at its first run (no deadlock, no retry)',
    );
    const { rows } = await db.pool.query<{ late: number }>(
      `SELECT count(*)::int AS late FROM ${s}.run c
       JOIN ${s}.run p ON p.sku = 'p-' || (substring(c.sku FROM 3)::int % 100) AND p.phase = 'end'
       WHERE c.sku LIKE 'c-%' AND c.phase = 'start' AND c.seq < p.seq`,
    );
    assert.equal(rows[0]!.late, 0, 'no child started before its parent ended');
    const runs = await db.pool.query(`SELECT count(DISTINCT pid)::int AS n FROM ${s}.run`);
    assert.equal(runs.rows[0].n, 2, 'both processes ran operations');
    await stop(workers);
    for (const w of workers) assert.doesNotMatch(w.stderr(), /deadlock/i);
  });

  it('a required operation that fails fails its dependants, and theirs, naming it', async () => {
    const bulk = await seed([
      { sku: 'f-child-0', parents: ['f-parent'] },
      { sku: 'f-child-1', parents: ['f-parent'] },
      { sku: 'f-grandchild', parents: ['f-child-0'] },
      { sku: 'f-parent', fail: true, sleepMs: 200 },
      { sku: 'f-other' },
    ]);
    const [worker] = [await startWorker(1, 20)];
    await waitFor(finished(bulk), 30_000, 'every operation to be final', POLL_MS);
    const ops = await operations(bulk);
    assert.deepEqual(
      ops.map((o) => o.status),
      [3, 3, 3, 3, 1],
    );
    assert.equal(ops[3]!.result_message, 'The product f-parent could not be saved.');
    for (const child of [0, 1]) {
      assert.equal(
        ops[child]!.result_message,
        `Required operation 3 of bulk ${bulk} (async.V1.products.sku.PUT), providing products@1:f-parent, failed: The product f-parent could not be saved.`,
      );
    }
    assert.match(
      ops[2]!.result_message!,
      /^Required operation 0 of bulk .*, providing products@1:f-child-0, failed: Required operation 3/,
    );
    const ran = await db.pool.query(`SELECT DISTINCT sku FROM ${s}.run WHERE sku LIKE 'f-%' ORDER BY sku`);
    assert.deepEqual(
      ran.rows.map((r) => r.sku),
      ['f-other', 'f-parent'],
      'no dependant ran',
    );
    await stop([worker!]);
  });

  // Accept refuses a cycle within one bulk (test/commands/serve.test.ts): a consumer finds one
  // that bulks form together.
  it('a cycle across bulks is refused when the wait begins: its operations fail naming it, the rest run', async () => {
    const first = await seed([{ sku: 'cy-a', parents: ['cy-b'] }]);
    const bulk = await seed([
      { sku: 'cy-b', parents: ['cy-a'] },
      { sku: 'cy-c', parents: ['cy-nobody'] },
    ]);
    const worker = await startWorker(2, 20);
    await waitFor(finished(bulk), 30_000, 'every operation to be final', POLL_MS);
    await waitFor(finished(first), 30_000, 'every operation to be final', POLL_MS);
    const ops = [...(await operations(first)), ...(await operations(bulk))];
    assert.deepEqual(
      ops.map((o) => o.status),
      [3, 3, 1],
      'nothing pending provides cy-nobody: it ran at once',
    );
    // Claimed in two batches, the member the other batch held when the cycle was found fails a
    // moment later for the failed member it waits for, quoting its message.
    for (const o of ops.slice(0, 2)) {
      assert.match(
        o.result_message!,
        /(^|failed: )Dependency cycle: operation \d of bulk .* requires products@1:cy-[ab], provided by operation \d of bulk .* requires products@1:cy-[ab], provided by the first: none can run\.$/,
      );
    }
    const ran = await db.pool.query(`SELECT DISTINCT sku FROM ${s}.run WHERE sku LIKE 'cy-%'`);
    assert.deepEqual(
      ran.rows.map((r) => r.sku),
      ['cy-c'],
    );
    await stop([worker]);
  });

  it('a cycle of three bulks whose members two processes look at one at a time (batches of one) is refused too', async () => {
    const bulks = [
      await seed([{ sku: 'cz-a', parents: ['cz-b'] }]),
      await seed([{ sku: 'cz-b', parents: ['cz-c'] }]),
      await seed([{ sku: 'cz-c', parents: ['cz-a'] }]),
    ];
    const workers = [await startWorker(2, 1), await startWorker(2, 1)];
    for (const bulk of bulks) await waitFor(finished(bulk), 30_000, 'every operation to be final', POLL_MS);
    const ops = (await Promise.all(bulks.map(operations))).flat();
    assert.deepEqual(
      ops.map((o) => o.status),
      [3, 3, 3],
    );
    // A member another process held while the cycle was found fails a moment later for the failed
    // member it waits for, whose message names the cycle.
    for (const o of ops) {
      assert.match(o.result_message!, /(^|failed: )Dependency cycle: operation \d of bulk .* requires products@1:cz-/);
      for (const key of ['cz-a', 'cz-b', 'cz-c']) assert.ok(o.result_message!.includes(`products@1:${key}`));
    }
    const ran = await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.run WHERE sku LIKE 'cz-%'`);
    assert.equal(ran.rows[0].n, 0, 'no member of the cycle ran');
    await stop(workers);
  });

  it('a requirement of its own key leaves it to the key order: a later update of the same product does not block it', async () => {
    const first = await seed([{ sku: 'own', parents: ['own'] }]);
    const later = await seed([{ sku: 'own' }]);
    const worker = await startWorker(2, 20);
    await waitFor(finished(later), 30_000, 'the later update to be final', POLL_MS);
    assert.deepEqual(
      [...(await operations(first)), ...(await operations(later))].map((o) => o.status),
      [1, 1],
    );
    const ran = await db.pool.query(`SELECT pid FROM ${s}.run WHERE sku = 'own' AND phase = 'end' ORDER BY seq`);
    assert.equal(ran.rows.length, 2);
    await stop([worker]);
  });

  it('a wait says what it waits for, and gives up at the wait limit naming the missing key', async () => {
    // The waiting state lasts the wait limit (3 s) from the child's first look, and the parent works
    // past it: the child's message and the gauge are read in one poll, so a slow machine that
    // sees the wait late still sees both while it lasts.
    const bulk = await seed([
      { sku: 'w-parent', sleepMs: 7000 },
      { sku: 'w-child', parents: ['w-parent'] },
    ]);
    const worker = await startWorker(2, 1, { WAIT_LIMIT: '3' });
    const metrics = createMetrics({ pool: db.pool, schema: db.schema, bossSchema: db.bossSchema });
    let seen: { message: string | null; gauge: string } | undefined;
    await waitFor(
      async () => {
        const message = (await operations(bulk))[1]!.result_message;
        if (!message?.startsWith('Waiting for products@1:w-parent')) return false;
        seen = { message, gauge: await metrics.registry.getSingleMetricAsString('magento_async_operations_waiting') };
        return /^magento_async_operations_waiting 1$/m.test(seen.gauge);
      },
      20_000,
      'the child to wait, counted by the waiting gauge',
    );
    assert.equal(
      seen!.message,
      `Waiting for products@1:w-parent: operation 0 of bulk ${bulk} provides it and is not finished.`,
    );
    await waitFor(finished(bulk), 30_000, 'every operation to be final', POLL_MS);
    const ops = await operations(bulk);
    assert.deepEqual(
      ops.map((o) => o.status),
      [1, 3],
    );
    assert.equal(
      ops[1]!.result_message,
      'Gave up waiting for products@1:w-parent after 3 seconds (the wait limit): the operation providing it is not finished.',
    );
    await stop([worker]);
  });
});
