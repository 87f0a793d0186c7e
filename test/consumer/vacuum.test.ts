/**
 * A consumer vacuums the tables its attempts rewrite when the server's autovacuum is off (this
 * machine's and CI's PostgreSQL run with it off), the plugins' tables its handlers wrote among them,
 * and leaves them alone when it is on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { startConsumer } from '../../src/consumer/consumer.ts';
import { autovacuumOn, writtenSinceVacuum } from '../../src/consumer/vacuum.ts';
import { ident } from '../../src/db/pool.ts';
import { waitFor } from '../support/wait.ts';
import { seedBulk, silentLog } from './seed.ts';

describe('vacuum', () => {
  let db: TestDatabase;
  let boss: PgBoss;

  before(async () => {
    db = await createTestDatabase('vacuum');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products']);
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  /** A consumer of the products queue whose handler does nothing, vacuuming every 50 operations. */
  const noopConsumer = (options: Partial<Parameters<typeof startConsumer>[0]>) =>
    startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      registry: { invoke: async () => ({ result: null, handler: 'Test_Noop::Noop' }) },
      queues: ['async.products'],
      vacuumEvery: 50,
      deadLetter: false,
      log: silentLog,
      ...options,
    });

  it("with autovacuum off, a consumer vacuums the job, operation and operation_order tables and its plugins' tables every so many operations", async () => {
    // A plugin's own schema (src/plugins/migrations.ts names them so; drop() removes them).
    const plugin = `${db.schema}__test_values`;
    // `value` is written (as a handler would); `unused` never is, so no vacuum records it as empty.
    await db.pool.query(
      `CREATE SCHEMA "${plugin}"; CREATE TABLE "${plugin}".value (k int PRIMARY KEY, v text);
       CREATE TABLE "${plugin}".unused (k int PRIMARY KEY); INSERT INTO "${plugin}".value VALUES (1, 'a')`,
    );
    await waitFor(
      async () =>
        Number((await db.pool.query<{ rows: string }>(writtenSinceVacuum, [`"${plugin}".value`])).rows[0]!.rows) >= 1,
      15_000,
      "the statistics to count the plugin table's row",
    );
    await seedBulk(db.pool, boss, db.schema, { count: 120, operationId: 'Noop' });
    const consumer = await noopConsumer({ batchSize: 20, maxMessages: 120, searchPath: [db.schema, plugin, 'public'] });
    // Stopping waits for a vacuum under way.
    await consumer.done;
    const { rows: setting } = await db.pool.query<{ on: boolean }>(autovacuumOn);
    const { rows } = await db.pool.query<{ relname: string; vacuums: number }>(
      `SELECT relname, vacuum_count::int AS vacuums FROM pg_stat_user_tables
       WHERE (schemaname = $1 AND relname IN ('operation', 'operation_order'))
          OR (schemaname = $2 AND relname = 'job_common') OR schemaname = $3 ORDER BY relname`,
      [db.schema, db.bossSchema, plugin],
    );
    assert.deepEqual(
      rows.map((r) => r.relname),
      ['job_common', 'operation', 'operation_order', 'unused', 'value'],
    );
    for (const r of rows) {
      if (setting[0]!.on || r.relname === 'unused') {
        assert.equal(
          r.vacuums,
          0,
          `${r.relname}: autovacuum is on or it was never written, the consumer leaves it alone`,
        );
      } else assert.ok(r.vacuums >= 1, `${r.relname} vacuumed by the consumer`);
    }
  });

  it('with autovacuum off, a consumer starting on a backlog of `every` unvacuumed operations vacuums at once', async () => {
    await seedBulk(db.pool, boss, db.schema, { count: 60, operationId: 'Noop' });
    const operation = `${ident(db.schema)}.operation`;
    // The server's statistics count the backlog's rows once the seeding connection reports them.
    await waitFor(
      async () => Number((await db.pool.query<{ rows: string }>(writtenSinceVacuum, [operation])).rows[0]!.rows) >= 60,
      15_000,
      'the statistics to count the seeded operations',
    );
    const vacuums = async () =>
      (
        await db.pool.query<{ n: number }>(
          `SELECT vacuum_count::int AS n FROM pg_stat_user_tables WHERE relid = to_regclass($1)`,
          [operation],
        )
      ).rows[0]!.n;
    const before = await vacuums();
    // One operation handled: far fewer than `every`, so only the start can vacuum.
    const consumer = await noopConsumer({ maxMessages: 1 });
    await consumer.done;
    const { rows: setting } = await db.pool.query<{ on: boolean }>(autovacuumOn);
    assert.equal(await vacuums(), setting[0]!.on ? before : before + 1);
  });
});
