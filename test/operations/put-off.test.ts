/**
 * Repeated updates of the same entity keys with several fetch loops (issue 14): a loop that
 * fetches an update of a sku another loop is still saving puts it off, naming its new job on the
 * update it waits behind; that update's outcome makes the job runnable at once. Per-key acceptance
 * order holds, and nothing is lost or run twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { ident } from '../../src/db/pool.ts';
import { startConsumer } from '../../src/consumer/consumer.ts';
import { orderRules, saveOrderRules } from '../../src/operations/order-keys.ts';
import { seedBulk, silentLog, statusCounts, waitFor } from '../consumer/seed.ts';
import { mapInvoker } from '../consumer/invokers.ts';

const SKUS = 8;
const ROUNDS = 12;

describe('jobs put off behind an earlier update of their key', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let s: string;
  const bulks: string[] = [];

  before(async () => {
    db = await createTestDatabase('wake_waiting');
    s = ident(db.schema);
    // What each committed run did, in commit order (a serial id): lost, reordered and twice are read here.
    await db.pool.query(`CREATE TABLE ${s}.saved (id bigserial PRIMARY KEY, sku text NOT NULL, round int NOT NULL)`);
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products']);
    await saveOrderRules(
      db.pool,
      db.schema,
      orderRules([{ operationId: 'SetPrice', entity: 'products', pathParams: ['sku'] }], new Map()),
    );
    // Every round updates every sku once, accepted round after round before any consumer runs.
    for (let round = 0; round < ROUNDS; round++) {
      bulks.push(
        await seedBulk(db.pool, boss, db.schema, {
          count: SKUS,
          operationId: 'SetPrice',
          args: (key) => ({ sku: `hot-${key}`, round }),
        }),
      );
    }
    const consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      queues: ['async.products'],
      // Small batches, four loops: loops fetch updates of skus another loop holds.
      batchSize: 4,
      concurrency: 4,
      log: silentLog,
      registry: mapInvoker({
        async SetPrice(args: { sku: string; round: number }, ctx) {
          await ctx.tx.query(`INSERT INTO saved (sku, round) VALUES ($1, $2)`, [args.sku, args.round]);
          return null;
        },
      }),
    });
    try {
      for (const bulk of bulks) {
        await waitFor(
          async () => (await statusCounts(db.pool, db.schema, bulk))[1] === SKUS,
          120_000,
          `bulk ${bulk} to complete`,
        );
      }
    } finally {
      await consumer.stop();
    }
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  it('every update ran once, in acceptance order per sku: none lost, out of order or run twice', async () => {
    const { rows } = await db.pool.query<{ sku: string; rounds: number[] }>(
      `SELECT sku, array_agg(round ORDER BY id) AS rounds FROM ${s}.saved GROUP BY sku ORDER BY sku`,
    );
    const inOrder = [...Array(ROUNDS).keys()];
    assert.equal(rows.length, SKUS);
    for (const r of rows) assert.deepEqual(r.rounds, inOrder, r.sku);
  });

  it('the loops did fetch updates behind another: their jobs were named on the update they waited behind', async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${s}.operation o, unnest(o.waiting_jobs) AS w(id)`,
    );
    assert.ok(rows[0]!.n > 0, 'some delivery was put off behind an earlier update');
  });

  it('each such job became runnable at its predecessor’s outcome, unless its put-off delay ran out first', async () => {
    // pg-boss's job rows: the put-off one was created with a delay of at least a second; the
    // predecessor was final when its delivered job completed (in the transaction recording its
    // outcome; finished_at has whole seconds only). A job not moved was due before its wake came
    // (its predecessor took longer than the delay: the safety net).
    const b = ident(db.bossSchema);
    const { rows } = await db.pool.query<{ id: string; moved: boolean; due_at: Date; final_at: Date }>(
      `SELECT j.id::text, j.start_after < j.created_on + interval '1 second' AS moved, j.start_after AS due_at,
          (SELECT max(d.completed_on) FROM ${b}.job d WHERE d.name = 'async.products'
            AND d.data->>'bulk' = o.bulk_uuid::text AND d.data->>'key' = o.operation_key::text) AS final_at
        FROM ${s}.operation o, unnest(o.waiting_jobs) AS w(id)
        JOIN ${b}.job j ON j.id = w.id AND j.name = 'async.products'`,
    );
    const moved = rows.filter((r) => r.moved);
    assert.ok(moved.length > 0, 'some job was made runnable before its put-off delay ran out');
    for (const r of moved)
      assert.ok(r.due_at >= r.final_at, `job ${r.id} was runnable before its predecessor was final`);
  });
});
