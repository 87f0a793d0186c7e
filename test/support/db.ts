/**
 * Each test file gets its own schemas (ours and pg-boss's) in the real database, so files run in
 * parallel and leave nothing behind.
 *
 * Which database: `DATABASE_URL` when set; else the default local server
 * (`postgres://postgres@127.0.0.1:5432/test`) when it answers; else an embedded PostgreSQL in
 * `var/test-postgres`, started once for the whole run. That choice is made once, by `globalSetup`
 * below, which `npm test` (scripts/test.ts) loads as the global setup in the runner's own process before any
 * test file starts: it sets `DATABASE_URL` for the test files (separate processes) it then spawns,
 * and `globalTeardown` stops the embedded server. `MAGENTO_ASYNC_FORCE_EMBEDDED=1` skips the first
 * two (CI runs the quick start that way).
 */
import { randomBytes } from 'node:crypto';
import { createPool, databaseUrl, DEFAULT_DATABASE_URL, ident, type Pool } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';
import { databaseAnswers, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/dev/embedded.ts';
import { vacuumCatalogs } from './catalog-vacuum.ts';
import { endRun, forgetSchema, noteSchema, startRun, untagged } from './leftovers.ts';

let embedded: EmbeddedPostgres | undefined;
let run: string | undefined;

/** The tests' deployment key (a CI environment gives one the same way). */
export const TEST_CRYPT_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

export async function globalSetup(): Promise<void> {
  run = startRun();
  // CLI processes the tests run are in production mode, which refuses to keep the key in the
  // database (src/auth/crypt-key.ts): they get it from the environment, as a deployment does.
  process.env.CRYPT_KEY ??= TEST_CRYPT_KEY;
  const force = Boolean(process.env.MAGENTO_ASYNC_FORCE_EMBEDDED);
  if (!force) {
    if (process.env.DATABASE_URL) return startFromVacuumedCatalogs();
    if (await databaseAnswers(DEFAULT_DATABASE_URL, 1500)) {
      // Named explicitly, so CLI processes the tests spawn never follow a var/instance.json that a
      // developer's `npm start` left in the checkout.
      process.env.DATABASE_URL = DEFAULT_DATABASE_URL;
      return startFromVacuumedCatalogs();
    }
  }
  const started = Date.now();
  // The server outlives every test process by design (teardown stops it after the leftover check,
  // which needs it), so it must not carry the run's tag that marks processes a test left behind.
  embedded = await untagged(() =>
    startEmbeddedPostgres({
      dataDir: 'var/test-postgres',
      // Throwaway data: durability only costs time here.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    }),
  );
  process.env.DATABASE_URL = embedded.url;
  process.stderr.write(
    `tests use an embedded PostgreSQL (${embedded.dataDir}, port ${embedded.port}, ${Date.now() - started} ms): ` +
      (force
        ? 'MAGENTO_ASYNC_FORCE_EMBEDDED is set'
        : `no DATABASE_URL and nothing answers at ${DEFAULT_DATABASE_URL}`) +
      '\n',
  );
}

/** A server the run did not start may keep autovacuum off: test/support/catalog-vacuum.ts says why. */
async function startFromVacuumedCatalogs(): Promise<void> {
  const pool = createPool({ connectionString: databaseUrl(), max: 1 });
  try {
    await vacuumCatalogs(pool);
  } finally {
    await pool.end();
  }
}

export async function globalTeardown(): Promise<void> {
  const pool = createPool({ connectionString: databaseUrl(), max: 1 });
  try {
    const left = run ? await endRun(run, pool) : [];
    if (left.length) {
      // Written out as well: the runner fails the run on a teardown error without showing it.
      const message = `the tests left behind (now removed):\n${left.map((l) => `  ${l}`).join('\n')}`;
      process.stderr.write(`\n✖ ${message}\n`);
      throw new Error(message);
    }
  } finally {
    await pool.end();
    await embedded?.stop();
  }
}

export interface TestDatabase {
  url: string;
  pool: Pool;
  /** Our schema (tables bulk, operation, store, …). */
  schema: string;
  /** pg-boss's schema for this test file. */
  bossSchema: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(name = 'test'): Promise<TestDatabase> {
  const suffix = `${name.replace(/\W/g, '_').slice(0, 20)}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const schema = `t_${suffix}`;
  const bossSchema = `tb_${suffix}`;
  const url = databaseUrl();
  const pool = createPool({ connectionString: url, max: 8, applicationName: `test:${name}` });
  noteSchema(schema);
  noteSchema(bossSchema);
  await migrate(pool, schema);
  return {
    url,
    pool,
    schema,
    bossSchema,
    async drop() {
      // Ours, pg-boss's (when the test made one) and plugin migrations' (`<schema>__<plugin>`,
      // src/plugins/migrations.ts), in one statement: one transaction and one walk of their
      // dependencies instead of one per schema.
      const { rows } = await pool.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname = ANY($1) OR starts_with(nspname, $2)`,
        [[schema, bossSchema], `${schema}__`],
      );
      if (rows.length)
        await pool.query(`DROP SCHEMA IF EXISTS ${rows.map((r) => ident(r.nspname)).join(', ')} CASCADE`);
      forgetSchema(schema);
      forgetSchema(bossSchema);
      await pool.end();
    },
  };
}
