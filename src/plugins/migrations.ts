/**
 * Plugin migrations. Each plugin with a `migrations` export gets its own schema,
 * `<schema>__<vendor_module>` (ours `magento_async` → `magento_async__acme_pricing`), and a version
 * table in it: migration N (the N-th string of the export) runs once, in a transaction that sees
 * only that schema, so `CREATE TABLE IF NOT EXISTS bulk` creates the plugin's own `bulk` instead of
 * silently reusing ours. Handlers keep naming their tables unqualified: the consumer's search path
 * is ours, then every plugin schema (`PluginRegistry.searchPath`), and start refuses when one name
 * exists in two of those schemas, because an unqualified name would then pick one of them silently.
 */
import { createHash } from 'node:crypto';
import { type Pool, withTransaction } from '../db/pool.ts';
import {
  createPluginSchema,
  insertAppliedVersion,
  selectAppliedVersions,
  selectSharedRelationNames,
  setMigrationSearchPath,
} from '../db/sql/plugin-migrations.ts';
import type { Install } from './registry.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The schema of a plugin's tables, next to `schema` (ours). */
export function pluginSchema(schema: string, plugin: string): string {
  const name = `${schema}__${plugin.toLowerCase()}`;
  if (!IDENTIFIER.test(name)) {
    throw new PluginMigrationError(
      `plugin ${plugin}: its schema name "${name}" is not a database identifier of at most 63 characters; use a shorter "schema".`,
    );
  }
  return name;
}

export class PluginMigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PluginMigrationError';
  }
}

export interface AppliedMigration {
  plugin: string;
  version: number;
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/** Installs grouped per plugin, in load order; a plugin's N-th SQL string is its version N. */
function byPlugin(installs: readonly Install[]): Map<string, string[]> {
  const plugins = new Map<string, string[]>();
  for (const i of installs) plugins.set(i.plugin, [...(plugins.get(i.plugin) ?? []), i.sql]);
  return plugins;
}

/** Plugins that have migrations, hence a schema on the handlers' search path. */
export function pluginsWithSchemas(installs: readonly Install[]): string[] {
  return [...byPlugin(installs).keys()];
}

/**
 * Applies every pending plugin migration in one transaction under a per-schema advisory lock
 * (servers and consumers start together), then checks that no relation name is in two schemas of
 * the search path. Returns what it applied: nothing on a re-run.
 */
export async function runPluginMigrations(
  pool: Pool,
  schema: string,
  installs: readonly Install[],
): Promise<AppliedMigration[]> {
  const plugins = byPlugin(installs);
  if (!plugins.size) return [];
  const schemas = new Map([...plugins.keys()].map((p) => [p, pluginSchema(schema, p)]));
  const applied: AppliedMigration[] = [];
  return withTransaction(pool, async (client) => {
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`magento-async:plugins:${schema}`]);
    for (const [plugin, migrations] of plugins) {
      const ps = schemas.get(plugin)!;
      await client.query(createPluginSchema(ps));
      const { rows } = await client.query<{ version: number; checksum: string }>(selectAppliedVersions(ps));
      const done = new Map(rows.map((r) => [r.version, r.checksum]));
      for (const [index, sql] of migrations.entries()) {
        const version = index + 1;
        const sum = checksum(sql);
        const recorded = done.get(version);
        if (recorded === sum) continue;
        if (recorded !== undefined) {
          throw new PluginMigrationError(
            `plugin ${plugin}: migration ${version} was changed after it was applied to schema ${ps}; ` +
              'leave applied migrations as they are and append a new one to "migrations".',
          );
        }
        await client.query(setMigrationSearchPath(ps));
        try {
          await client.query(sql);
        } catch (error) {
          throw new PluginMigrationError(
            `plugin ${plugin}: migration ${version} failed in schema ${ps}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        await client.query(insertAppliedVersion(ps), [version, sum]);
        applied.push({ plugin, version });
      }
    }
    const { rows: shared } = await client.query<{ name: string; schemas: string[] }>(selectSharedRelationNames(), [
      [schema, ...schemas.values()],
    ]);
    if (shared.length) {
      const owner = new Map([[schema, 'magento-async'], ...[...schemas].map(([p, s]) => [s, p] as const)]);
      throw new PluginMigrationError(
        `Plugin tables would shadow one another (handlers name tables unqualified, so each name must exist once):\n${shared
          .map((r) => `  - "${r.name}" is in ${r.schemas.map((s) => `${s} (${owner.get(s)})`).join(' and ')}`)
          .join('\n')}\nRename the plugin's table in a new migration.`,
      );
    }
    return applied;
  });
}
