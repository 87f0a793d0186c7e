/**
 * Plugin migrations: each plugin's SQL runs once, in its own schema, recorded in its version table;
 * a table named like one of ours never touches ours; a handler's transaction finds plugin tables
 * by their unqualified names.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { ident, type Pool } from '../../src/db/pool.ts';
import { loadMigrations, migrate, renderMigration } from '../../src/db/migrate.ts';
import { loadPlugins, runInstalls } from '../../src/plugins/loader.ts';
import { pluginSchema } from '../../src/plugins/migrations.ts';
import { SharedTransaction } from '../../src/consumer/transaction.ts';
import type { Install } from '../../src/plugins/registry.ts';
import { sampleRoutes } from './fixtures.ts';

async function database(t: { after(fn: () => unknown): void }, name: string): Promise<TestDatabase> {
  const db = await createTestDatabase(name);
  t.after(() => db.drop());
  return db;
}

async function tables(pool: Pool, schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
      WHERE table_schema = $1 OR starts_with(table_schema, $1 || '__') ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.t);
}

const install = (plugin: string, ...sql: string[]): Install[] => sql.map((s) => ({ plugin, sql: s }));

describe('plugin migrations', () => {
  it('run in the plugin’s own schema, once per version; a re-run applies nothing; appended ones apply', async (t) => {
    const db = await database(t, 'pm_once');
    const v1 = 'CREATE TABLE acme_price (sku text PRIMARY KEY, price numeric)';
    const v2 = 'ALTER TABLE acme_price ADD COLUMN currency text';
    assert.deepEqual(await runInstalls(db.pool, db.schema, install('Acme_Pricing', v1)), [
      { plugin: 'Acme_Pricing', version: 1 },
    ]);
    // Not IF NOT EXISTS: a second apply of v1 would fail, so an empty answer means it did not run.
    assert.deepEqual(await runInstalls(db.pool, db.schema, install('Acme_Pricing', v1)), []);
    assert.deepEqual(await runInstalls(db.pool, db.schema, install('Acme_Pricing', v1, v2)), [
      { plugin: 'Acme_Pricing', version: 2 },
    ]);
    const ps = pluginSchema(db.schema, 'Acme_Pricing');
    assert.equal(ps, `${db.schema}__acme_pricing`);
    const { rows } = await db.pool.query(`SELECT version FROM ${ident(ps)}.magento_async_migration ORDER BY 1`);
    assert.deepEqual(
      rows.map((r) => r.version),
      [1, 2],
    );
    assert.ok((await tables(db.pool, db.schema)).includes(`${ps}.acme_price`));
  });

  it('refuse an applied migration that was edited, naming the plugin and version', async (t) => {
    const db = await database(t, 'pm_edit');
    await runInstalls(db.pool, db.schema, install('Acme_Pricing', 'CREATE TABLE p (id int)'));
    await assert.rejects(
      runInstalls(db.pool, db.schema, install('Acme_Pricing', 'CREATE TABLE p (id bigint)')),
      /plugin Acme_Pricing: migration 1 was changed after it was applied .* append a new one/,
    );
  });

  it('a table named like ours is the plugin’s own and never touches ours; start refuses the shadowing name', async (t) => {
    const db = await database(t, 'pm_shadow');
    const s = ident(db.schema);
    const before = await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.bulk`);
    const columns = async () =>
      (
        await db.pool.query(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'bulk' ORDER BY 1`,
          [db.schema],
        )
      ).rows.map((r) => r.column_name as string);
    const ours = await columns();
    await assert.rejects(
      runInstalls(
        db.pool,
        db.schema,
        install('Acme_Bulk', 'CREATE TABLE IF NOT EXISTS bulk (x int)', 'INSERT INTO bulk (x) VALUES (1)'),
      ),
      (e: Error) =>
        e.message.includes(`"bulk" is in ${db.schema} (magento-async) and ${db.schema}__acme_bulk (Acme_Bulk)`) &&
        /Rename the plugin's table in a new migration/.test(e.message),
    );
    assert.deepEqual(await columns(), ours, 'our bulk table is unchanged');
    assert.deepEqual((await db.pool.query(`SELECT count(*)::int AS n FROM ${s}.bulk`)).rows, before.rows);
    // Nothing half-written: the refusal rolled the plugin's schema back too.
    assert.deepEqual(
      (await tables(db.pool, db.schema)).filter((x) => x.includes('__')),
      [],
    );
  });

  it('two plugins may not both have a table of one name', async (t) => {
    const db = await database(t, 'pm_two');
    await assert.rejects(
      runInstalls(db.pool, db.schema, [
        ...install('Acme_One', 'CREATE TABLE price (id int)'),
        ...install('Acme_Two', 'CREATE TABLE price (id int)'),
      ]),
      /"price" is in \S+__acme_one \(Acme_One\) and \S+__acme_two \(Acme_Two\)/,
    );
  });

  it('a handler’s transaction finds plugin tables unqualified, and ours too', async (t) => {
    const db = await database(t, 'pm_path');
    const registry = await loadPlugins({
      routes: sampleRoutes,
      pluginsDir: null,
      modules: [
        {
          source: 'm',
          module: {
            default: { name: 'Acme_Pricing', compatibility: '^1.0.0' },
            migrations: ["CREATE TABLE acme_price (sku text PRIMARY KEY); INSERT INTO acme_price VALUES ('A-1')"],
          },
        },
      ],
    });
    await runInstalls(db.pool, db.schema, registry.installs);
    const tx = new SharedTransaction(db.pool, db.schema, registry.searchPath(db.schema));
    const client = await tx.client();
    const { rows } = await client.query(
      'SELECT (SELECT sku FROM acme_price) AS sku, (SELECT count(*)::int FROM store) AS stores',
    );
    assert.deepEqual(rows, [{ sku: 'A-1', stores: 2 }]);
    // As the consumer ends one it does not commit (src/consumer/commit.ts): with an error, so the
    // connection goes and the server rolls back. A plain end() gives the connection back to the pool
    // inside its open transaction, which then swallowed the test's DROP SCHEMA at the pool's end.
    await tx.end(new Error('read only'));
  });

  it('an existing deployment’s example tables move, with their rows, into the examples’ schemas', async (t) => {
    // A deployment from before 015: a fresh schema with the earlier migrations, the examples' tables
    // created in it as the earlier loader did (search_path = our schema), and a product saved.
    const legacy = await createTestDatabase('pm_legacy');
    const s = 'legacy_' + legacy.schema;
    t.after(async () => {
      for (const name of [s, ...['Magento_Catalog', 'Magento_Customer', 'Magento_Cms'].map((p) => pluginSchema(s, p))])
        await legacy.pool.query(`DROP SCHEMA IF EXISTS ${ident(name)} CASCADE`);
      await legacy.drop();
    });
    const client = await legacy.pool.connect();
    try {
      await client.query(`CREATE SCHEMA ${ident(s)}`);
      await client.query(
        `CREATE TABLE ${ident(s)}.schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const m of loadMigrations().filter((m) => m.version < 15)) {
        await client.query(renderMigration(m.sql, s));
        await client.query(`INSERT INTO ${ident(s)}.schema_migration (version, name) VALUES ($1, $2)`, [
          m.version,
          m.name,
        ]);
      }
      await client.query(`SET search_path TO ${ident(s)}`);
      for (const example of ['catalog', 'customer', 'cms'])
        await client.query(readFileSync(new URL(`../../examples/${example}/schema.sql`, import.meta.url), 'utf8'));
      await client.query(`INSERT INTO catalog_product (sku) VALUES ('OLD-1')`);
      await client.query(`RESET search_path`);
    } finally {
      client.release();
    }
    assert.ok((await migrate(legacy.pool, s)).includes('015_plugin_schemas.sql'));
    const registry = await loadPlugins({
      routes: sampleRoutes,
      pluginsDir: null,
      examples: ['catalog', 'customer', 'cms'],
    });
    await runInstalls(legacy.pool, s, registry.installs);
    const { rows } = await legacy.pool.query(
      `SELECT sku FROM ${ident(pluginSchema(s, 'Magento_Catalog'))}.catalog_product`,
    );
    assert.deepEqual(rows, [{ sku: 'OLD-1' }]);
    assert.deepEqual(
      (await tables(legacy.pool, s)).filter((x) => x.includes('__') && !x.endsWith('.magento_async_migration')),
      [
        `${s}__magento_catalog.catalog_product`,
        `${s}__magento_catalog.catalog_product_value`,
        `${s}__magento_cms.cms_page`,
        `${s}__magento_customer.customer_entity`,
      ],
    );
  });
});
