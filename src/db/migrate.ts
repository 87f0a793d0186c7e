/**
 * Applies the SQL files in `migrations/` in order, each once, inside one transaction guarded by an
 * advisory lock so several servers and consumers starting together do not race.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { ident, withTransaction } from './pool.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number.parseInt(file, 10),
      name: file,
      sql: readFileSync(dir + file, 'utf8'),
    }));
}

export function renderMigration(sql: string, schema: string): string {
  ident(schema);
  return sql.replaceAll('{{schema}}', ident(schema)).replaceAll('{{schema_name}}', schema);
}

/** Returns the names of the migrations it applied (empty when the schema was current). */
export async function migrate(pool: pg.Pool, schema: string): Promise<string[]> {
  const s = ident(schema);
  return withTransaction(pool, async (client) => {
    // A migration may rewrite big tables: the pool's statement timeout is for requests, not this.
    await client.query('SET LOCAL statement_timeout = 0');
    // One lock id per schema name, so tests on separate schemas never wait on each other.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`magento-async:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migration`);
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of loadMigrations()) {
      if (done.has(m.version)) continue;
      await client.query(renderMigration(m.sql, schema));
      await client.query(`INSERT INTO ${s}.schema_migration (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.name);
    }
    return applied;
  });
}
