/**
 * The batch executor with a real consumer on the real database: the handlers of a batch that use
 * `ctx.tx` share one transaction with a savepoint each and commit once; a failed statement a handler
 * catches leaves a clear message (or a savepoint to go on with); handlers run up to `inFlight` at
 * once while one entity key's operations keep their order; and a handler that cannot end its
 * savepoint takes its transaction's other operations along, which then run again, effects once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { startConsumer, type ConsumerOptions } from '../../src/consumer/consumer.ts';
import { orderRules, saveOrderRules } from '../../src/operations/order-keys.ts';
import { OperationError, savepoint } from '../../src/plugin.ts';
import { seedBulk, silentLog, waitFor } from './seed.ts';
import { mapInvoker, type TestHandler } from './invokers.ts';
import { simulatedWork } from '../support/wait.ts';

describe('batch executor', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let s: string;

  before(async () => {
    db = await createTestDatabase('batch');
    s = ident(db.schema);
    await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, txid bigint NOT NULL)`);
    await db.pool.query(`CREATE TABLE ${s}.uniq (sku text PRIMARY KEY)`);
    await db.pool.query(`INSERT INTO ${s}.uniq VALUES ('taken')`);
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, supervise: true });
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  /**
   * Seeds one bulk on a queue of its own, then starts a consumer on it, so the whole bulk arrives
   * in one batch; resolves once every operation is final, with their rows.
   */
  async function runBulk(
    entity: string,
    count: number,
    handler: TestHandler,
    options: Partial<ConsumerOptions> = {},
    args: (k: number) => unknown = (k) => ({ sku: `${entity}-${k}` }),
  ) {
    await ensureQueues(boss, [entity], { heartbeatSeconds: null, expireInSeconds: 30, retryDelay: 0 });
    const bulk = await seedBulk(db.pool, boss, db.schema, { count, entity, operationId: 'Op', args });
    const consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      queues: [`async.${entity}`],
      batchSize: 100,
      concurrency: 1,
      pollingIntervalSeconds: 0.5,
      notifyPollingIntervalSeconds: 0.5,
      deadLetter: false,
      log: silentLog,
      registry: mapInvoker({ Op: handler }),
      ...options,
      policy: { retryLimit: 0, ...options.policy },
    });
    try {
      await waitFor(
        async () =>
          (
            await db.pool.query(
              `SELECT count(*)::int AS n FROM ${s}.operation WHERE bulk_uuid = $1 AND status <> 4 AND NOT will_retry`,
              [bulk],
            )
          ).rows[0].n === count,
        30_000,
        `bulk ${entity} to finish`,
      );
    } finally {
      await consumer.stop();
    }
    const { rows } = await db.pool.query<{ operation_key: number; status: number; result_message: string }>(
      `SELECT operation_key, status, result_message FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
      [bulk],
    );
    return rows;
  }

  const effects = async (prefix: string) =>
    (
      await db.pool.query<{ sku: string; txid: string }>(
        `SELECT sku, txid::text FROM ${s}.effect WHERE sku LIKE $1 ORDER BY sku`,
        [`${prefix}-%`],
      )
    ).rows;

  it('handlers of a batch share one transaction: a failing one rolls back to its own savepoint only', async () => {
    const ops = await runBulk('shared', 6, async (args: { sku: string }, ctx) => {
      await ctx.tx.query(`INSERT INTO effect (sku, txid) VALUES ($1, txid_current())`, [args.sku]);
      if (ctx.operation.key % 3 === 1) throw new OperationError(`rejected ${args.sku}`);
      return null;
    });
    assert.deepEqual(
      ops.map((o) => [o.operation_key, o.status]),
      [
        [0, 1],
        [1, 3],
        [2, 1],
        [3, 1],
        [4, 3],
        [5, 1],
      ],
    );
    assert.equal(ops[1]!.result_message, 'rejected shared-1');
    const rows = await effects('shared');
    assert.deepEqual(
      rows.map((r) => r.sku),
      ['shared-0', 'shared-2', 'shared-3', 'shared-5'],
    );
    assert.equal(new Set(rows.map((r) => r.txid)).size, 1, 'one transaction for the batch');
  });

  it('with shared transactions switched off, each handler commits on its own', async () => {
    await runBulk(
      'apart',
      3,
      async (args: { sku: string }, ctx) => {
        await ctx.tx.query(`INSERT INTO effect (sku, txid) VALUES ($1, txid_current())`, [args.sku]);
        return null;
      },
      { shareTransactions: false },
    );
    assert.equal(new Set((await effects('apart')).map((r) => r.txid)).size, 3);
  });

  it('ctx.tx after a caught failed statement: a message that says so, or savepoint() to go on', async () => {
    const seen: string[] = [];
    const insertTaken = (ctx: Parameters<TestHandler>[1]) => ctx.tx.query(`INSERT INTO uniq VALUES ('taken')`);
    const ops = await runBulk('aborted', 4, async (args: { sku: string }, ctx) => {
      const write = () => ctx.tx.query(`INSERT INTO effect (sku, txid) VALUES ($1, txid_current())`, [args.sku]);
      switch (ctx.operation.key) {
        case 0: // catches the violation and queries again
          await write();
          await insertTaken(ctx).catch(() => {});
          try {
            await write();
          } catch (error) {
            seen.push((error as Error).name);
            throw error;
          }
          return null;
        case 1: // catches the violation and returns as if all went well
          await write();
          await insertTaken(ctx).catch(() => {});
          return null;
        case 2: // the way to go on: the failing statement in a savepoint of its own
          await savepoint(ctx.tx, () => insertTaken(ctx)).catch(() => {});
          await write();
          return null;
        default:
          await write();
          return null;
      }
    });
    assert.deepEqual(seen, ['TransactionAbortedError']);
    assert.deepEqual(
      ops.map((o) => o.status),
      [3, 3, 1, 1],
    );
    for (const o of ops.slice(0, 2)) {
      assert.match(o.result_message, /transaction is aborted: an earlier statement failed \(SQLSTATE 23505\)/);
      assert.match(o.result_message, /savepoint\(ctx\.tx/);
    }
    assert.deepEqual(
      (await effects('aborted')).map((r) => r.sku),
      ['aborted-2', 'aborted-3'],
    );
  });

  it('runs up to inFlight handlers at once, and never two of one entity key, which keep acceptance order', async () => {
    await saveOrderRules(
      db.pool,
      db.schema,
      orderRules([{ operationId: 'Op', entity: 'keyed', pathParams: ['sku'] }], new Map()),
    );
    // 6 skus with 3 updates each, then 10 operations of skus of their own.
    const skuOf = (k: number) => (k < 18 ? `keyed-${k % 6}` : `keyed-solo-${k}`);
    let running = 0;
    let most = 0;
    const runningKeys = new Set<string>();
    const overlaps: string[] = [];
    const order = new Map<string, number[]>();
    await runBulk(
      'keyed',
      28,
      async (args: { sku: string }, ctx) => {
        if (runningKeys.has(args.sku)) overlaps.push(args.sku);
        runningKeys.add(args.sku);
        order.set(args.sku, [...(order.get(args.sku) ?? []), ctx.operation.key]);
        most = Math.max(most, ++running);
        await simulatedWork(20 + (ctx.operation.key % 4) * 5);
        running--;
        runningKeys.delete(args.sku);
        return null;
      },
      { inFlight: 4 },
      (k) => ({ sku: skuOf(k) }),
    );
    assert.equal(most, 4, 'handlers in flight at most');
    assert.deepEqual(overlaps, [], 'two operations of one key ran at once');
    for (let i = 0; i < 6; i++) assert.deepEqual(order.get(`keyed-${i}`), [i, i + 6, i + 12], `keyed-${i}`);
  });

  it("a batch handler gets its operationId's claims of the batch as one unit, and its outcomes are recorded per operation", async () => {
    const calls: number[][] = [];
    const ops = await runBulk('unit', 5, () => assert.fail('the single-operation handler must not run'), {
      batchHandlerOf: (operationId) =>
        operationId === 'Op'
          ? async (claims, unit) => {
              calls.push(claims.map((c) => c.row.operation_key).sort());
              const skus = claims.map((c) => `unit-${c.row.operation_key}`);
              // Set-based: one statement for every operation of the unit.
              await unit.tx.query(`INSERT INTO effect (sku, txid) SELECT unnest($1::text[]), txid_current()`, [skus]);
              return claims.map((c) =>
                c.row.operation_key === 3
                  ? { status: 3, errorCode: 7, message: 'rejected unit-3', result: null }
                  : { status: 1, errorCode: null, message: 'Service execution success Test::Op', result: '{}' },
              );
            }
          : undefined,
    });
    assert.deepEqual(calls, [[0, 1, 2, 3, 4]]);
    assert.deepEqual(
      ops.map((o) => [o.status, o.result_message]),
      [
        [1, 'Service execution success Test::Op'],
        [1, 'Service execution success Test::Op'],
        [1, 'Service execution success Test::Op'],
        [3, 'rejected unit-3'],
        [1, 'Service execution success Test::Op'],
      ],
    );
    // The unit did not throw, so its savepoint was kept whole: per-operation undo is the batch
    // handler's own (savepoint() around an operation's part).
    assert.equal((await effects('unit')).length, 5);
  });

  it('a handler aborted in the middle of a ctx.tx statement: the others of its transaction run again, effects once', async () => {
    const runs: number[] = [];
    let stuck = -1;
    const ops = await runBulk(
      'stuck',
      4,
      async (args: { sku: string }, ctx) => {
        runs.push(ctx.operation.key);
        // All four start at once and take the transaction in turn: the third to run (two are then
        // kept in the transaction) outlives its deadline in the middle of a statement, and the
        // connection cannot be used for the others.
        if (runs.length === 3) stuck = ctx.operation.key;
        await ctx.tx.query(`INSERT INTO effect (sku, txid) VALUES ($1, txid_current())`, [args.sku]);
        if (ctx.operation.key === stuck) await ctx.tx.query('SELECT pg_sleep(5)');
        return null;
      },
      { inFlight: 4, policy: { handlerTimeoutMs: 500 } },
    );
    assert.deepEqual(
      ops.map((o) => o.status),
      [0, 1, 2, 3].map((k) => (k === stuck ? 2 : 1)),
    );
    assert.match(ops[stuck]!.result_message, /did not finish within 0\.5 s/);
    assert.deepEqual(
      (await effects('stuck')).map((r) => r.sku),
      [0, 1, 2, 3].filter((k) => k !== stuck).map((k) => `stuck-${k}`),
    );
    // The two kept in the abandoned transaction were given back and ran once more; the one after
    // it ran once, in a new transaction.
    const times = (k: number) => runs.filter((r) => r === k).length;
    assert.deepEqual(
      [0, 1, 2, 3].map(times),
      [0, 1, 2, 3].map((k) => (runs.slice(0, 2).includes(k) ? 2 : 1)),
      `runs ${runs}`,
    );
  });

  it('a transaction that fails at commit (a deferred constraint): its operations run again alone, and only the culprit fails', async () => {
    await db.pool.query(
      `CREATE TABLE ${s}.deferred (sku text, CONSTRAINT deferred_unique UNIQUE (sku) DEFERRABLE INITIALLY DEFERRED)`,
    );
    await db.pool.query(`INSERT INTO ${s}.deferred VALUES ('dup')`);
    const runs = new Map<number, number>();
    const ops = await runBulk('commitfail', 4, async (args: { sku: string }, ctx) => {
      runs.set(ctx.operation.key, (runs.get(ctx.operation.key) ?? 0) + 1);
      await ctx.tx.query(`INSERT INTO deferred VALUES ($1)`, [ctx.operation.key === 1 ? 'dup' : args.sku]);
      return null;
    });
    assert.deepEqual(
      ops.map((o) => o.status),
      [1, 3, 1, 1],
    );
    assert.match(ops[1]!.result_message, /internal error \(23505\)/);
    const { rows } = await db.pool.query(`SELECT sku FROM ${s}.deferred ORDER BY sku`);
    assert.deepEqual(
      rows.map((r) => r.sku),
      ['commitfail-0', 'commitfail-2', 'commitfail-3', 'dup'],
    );
    assert.deepEqual(
      [...runs].sort((a, b) => a[0] - b[0]),
      [
        [0, 2],
        [1, 2],
        [2, 2],
        [3, 2],
      ],
    );
  });
});
