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

/**
 * Returns the names of the migrations it applied (empty when the schema was current). Three round
 * trips besides the transaction's own: the lock and what is applied (one multi-statement query),
 * then every pending migration with its record (another). A fresh schema's 16 files, one at a time
 * with a record each, were 37.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<string[]> {
  const s = ident(schema);
  return withTransaction(pool, async (client) => {
    const [, , , , current] = (await client.query(
      [
        // A migration may rewrite big tables: the pool's statement timeout is for requests, not this.
        'SET LOCAL statement_timeout = 0',
        // One lock id per schema name, so tests on separate schemas never wait on each other.
        `SELECT pg_advisory_xact_lock(hashtext(${client.escapeLiteral(`magento-async:${schema}`)}))`,
        `CREATE SCHEMA IF NOT EXISTS ${s}`,
        `CREATE TABLE IF NOT EXISTS ${s}.schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        `SELECT version FROM ${s}.schema_migration`,
      ].join(';\n'),
    )) as unknown as pg.QueryResult<{ version: number }>[];
    const done = new Set(current!.rows.map((r) => r.version));
    const pending = loadMigrations().filter((m) => !done.has(m.version));
    if (pending.length === 0) return [];
    // Statements of one simple query run one after the other in this transaction, each seeing what
    // the ones before it did, as separate queries would; a failure stops there and rolls back all.
    const records = pending.map((m) => `(${m.version}, ${client.escapeLiteral(m.name)})`).join(', ');
    await client.query(
      [
        ...pending.map((m) => renderMigration(m.sql, schema)),
        `INSERT INTO ${s}.schema_migration (version, name) VALUES ${records}`,
      ].join('\n;\n'),
    );
    return pending.map((m) => m.name);
  });
}
