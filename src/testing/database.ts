/**
 * The test kit's database: a fresh pair of schemas (ours and pg-boss's) on `DATABASE_URL` when it
 * is set, else a throwaway embedded PostgreSQL of its own in a temporary folder. Either way a kit
 * sees only its own data, so test files run in parallel, and closing it leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, ident, type Pool } from '../db/pool.ts';
import { startEmbeddedPostgres } from '../dev/embedded.ts';

export interface KitDatabase {
  url: string;
  /** Our schema (bulk, operation, store, …). */
  schema: string;
  bossSchema: string;
  /** Where the database came from, for messages: `DATABASE_URL` or the embedded data folder. */
  origin: string;
  /** A pool of the kit's own, for its queries and setup. */
  pool: Pool;
  drop(): Promise<void>;
}

export interface KitDatabaseOptions {
  /** A server to use instead of `DATABASE_URL` or an embedded one. */
  databaseUrl?: string;
  /** A label in the schema names, to tell kits apart in `\dn`. */
  name?: string;
}

export async function openKitDatabase(options: KitDatabaseOptions = {}): Promise<KitDatabase> {
  const label = (options.name ?? 'kit').replace(/\W/g, '_').slice(0, 12).toLowerCase();
  const suffix = `${label}_${randomBytes(4).toString('hex')}`;
  const schema = `kit_${suffix}`;
  const bossSchema = `kitb_${suffix}`;
  const given = options.databaseUrl ?? (process.env.DATABASE_URL || undefined);
  if (given) {
    const pool = createPool({ connectionString: given, max: 4, applicationName: 'magento-async:testing' });
    return {
      url: given,
      schema,
      bossSchema,
      origin: 'DATABASE_URL',
      pool,
      async drop() {
        // Ours, pg-boss's and the plugins' own (`<schema>__<plugin>`, where their migrations run).
        const { rows } = await pool.query<{ nspname: string }>(
          'SELECT nspname FROM pg_namespace WHERE nspname = ANY($1) OR starts_with(nspname, $2)',
          [[schema, bossSchema], `${schema}__`],
        );
        for (const r of rows) await pool.query(`DROP SCHEMA IF EXISTS ${ident(r.nspname)} CASCADE`);
        await pool.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'magento-async-kit-'));
  // As root the server runs as `postgres`, which must be able to enter the folder mkdtemp made 0700.
  chmodSync(dir, 0o755);
  let embedded;
  try {
    embedded = await startEmbeddedPostgres({
      dataDir: join(dir, 'postgres'),
      // Throwaway data: durability only costs time here.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const pool = createPool({ connectionString: embedded.url, max: 4, applicationName: 'magento-async:testing' });
  return {
    url: embedded.url,
    schema,
    bossSchema,
    origin: `embedded PostgreSQL in ${embedded.dataDir}`,
    pool,
    async drop() {
      await pool.end();
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
