/**
 * The suite creates and drops a few hundred schemas per run (two per test file, more in some), and
 * every table, column, index and trigger of them is a row of PostgreSQL's own catalogs. With
 * autovacuum off (this project's CI server runs so), nothing ever clears those rows once dropped:
 * after a few runs pg_attribute held a million dead rows (224 MB), and every catalog lookup by
 * schema, every CREATE and DROP of a test's schema, paid for reading past them (about 40 % more
 * PostgreSQL CPU per schema set up and dropped than on a fresh database). A run that depended on
 * how many runs came before it would not measure anything, so each run starts from vacuumed catalogs.
 */
import type { Pool } from '../../src/db/pool.ts';
import { autovacuumOn, tablesOfSchemas } from '../../src/consumer/vacuum.ts';

/**
 * VACUUMs the database's catalog tables when autovacuum is off; returns the tables vacuumed (none
 * when autovacuum is on, which does it by itself). Without the rights to vacuum them (not a
 * superuser, not the database's owner) PostgreSQL skips each with a warning: nothing fails.
 */
export async function vacuumCatalogs(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ on: boolean }>(autovacuumOn);
  if (rows[0]!.on) return [];
  // Their TOAST tables are vacuumed with them.
  const tables = (await pool.query<{ name: string }>(tablesOfSchemas, [['pg_catalog']])).rows.map((r) => r.name);
  // One statement: VACUUM takes a list, and runs outside a transaction (no BEGIN around it).
  await pool.query(`VACUUM ${tables.join(', ')}`);
  return tables;
}
