/**
 * Each test file gets its own schemas (ours and pg-boss's) in the real database, so files run in
 * parallel and leave nothing behind. `DATABASE_URL` overrides the default local server.
 */
import { randomBytes } from 'node:crypto';
import { createPool, databaseUrl, ident, type Pool } from '../../src/db/pool.ts';
import { migrate } from '../../src/db/migrate.ts';

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
  await migrate(pool, schema);
  return {
    url,
    pool,
    schema,
    bossSchema,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
      await pool.query(`DROP SCHEMA IF EXISTS ${ident(bossSchema)} CASCADE`);
      await pool.end();
    },
  };
}
