/**
 * Runs the example plugins' handlers against a real database the way the consumer will: their
 * migrations applied in their own schemas, each operation in its own transaction with the
 * registry's search path (ours, then the plugins'), since plugins name tables unqualified.
 */
import type { TestContext } from 'node:test';
import { ident, type PoolClient } from '../../src/db/pool.ts';
import type { HandlerContext, StoreScope } from '../../src/plugin.ts';
import { runInstalls } from '../../src/plugins/loader.ts';
import { PluginRegistry } from '../../src/plugins/registry.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { context } from '../plugins/fixtures.ts';

export interface PluginDb {
  db: TestDatabase;
  /** Runs `fn` like one operation: a transaction on our schema, rolled back if it throws. */
  run<T>(store: StoreScope, fn: (ctx: HandlerContext, client: PoolClient) => Promise<T>): Promise<T>;
}

export async function pluginDatabase(
  t: TestContext,
  name: string,
  modules: { default: { name: string }; migrations?: string[] }[],
): Promise<PluginDb> {
  const db = await createTestDatabase(name);
  t.after(() => db.drop());
  const installs = modules.flatMap((m) => (m.migrations ?? []).map((sql) => ({ plugin: m.default.name, sql })));
  await runInstalls(db.pool, db.schema, installs);
  const searchPath = new PluginRegistry({
    routes: [],
    handlers: new Map(),
    stubs: new Map(),
    interceptors: [],
    installs,
  })
    .searchPath(db.schema)
    .map(ident)
    .join(', ');
  // A second store view besides Magento's admin (0) and default (1) ones.
  await db.pool.query(
    `INSERT INTO ${ident(db.schema)}.store (store_id, code, name, website_id) VALUES (2, 'second', 'Second Store View', 1)`,
  );
  return {
    db,
    async run(store, fn) {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL search_path TO ${searchPath}`);
        const result = await fn(context(client, store), client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
