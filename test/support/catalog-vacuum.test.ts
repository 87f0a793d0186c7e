/**
 * The run's global setup vacuums PostgreSQL's catalogs when autovacuum is off
 * (test/support/catalog-vacuum.ts), so that a run costs the same whatever ran before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, databaseUrl } from '../../src/db/pool.ts';
import { autovacuumOn } from '../../src/consumer/vacuum.ts';
import { vacuumCatalogs } from './catalog-vacuum.ts';

test('with autovacuum off every catalog table is vacuumed, pg_attribute among them; with it on, none', async () => {
  const pool = createPool({ connectionString: databaseUrl(), max: 1 });
  try {
    const on = (await pool.query<{ on: boolean }>(autovacuumOn)).rows[0]!.on;
    const lastVacuum = async () =>
      (
        await pool.query<{ at: Date | null }>(
          `SELECT last_vacuum AS at FROM pg_stat_sys_tables WHERE relid = 'pg_catalog.pg_attribute'::regclass`,
        )
      ).rows[0]!.at;
    const before = await lastVacuum();
    const { rows } = await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const vacuumed = await vacuumCatalogs(pool);
    if (on) {
      assert.deepEqual(vacuumed, []);
      assert.deepEqual(await lastVacuum(), before);
    } else {
      for (const table of ['pg_catalog.pg_attribute', 'pg_catalog.pg_class', 'pg_catalog.pg_depend'])
        assert.ok(vacuumed.includes(table), `${table} is among ${vacuumed.join(', ')}`);
      const after = await lastVacuum();
      assert.ok(after && after >= rows[0]!.now, `pg_attribute's last vacuum (${after?.toISOString()}) is this one`);
    }
  } finally {
    await pool.end();
  }
});
