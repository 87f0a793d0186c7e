/**
 * Operator commands for the database, store views and integration tokens. Output goes through
 * `process.stdout.write` so tests can capture it and scripts can pipe it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import { commandDatabase } from '../runtime/instance.ts';
import { createStore, listStores, type Store } from '../store/stores.ts';
import { createIntegrationToken, parseResourceList, revokeIntegrationToken } from '../auth/tokens.ts';

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Opens a pool for one command and closes it afterwards. Store and token commands migrate first:
 * migrating a current schema is one cheap query, and a fresh machine then needs no separate
 * `setup:upgrade` before its first `integration:token:create`.
 */
export async function withDatabase<T>(
  options: { migrate: boolean },
  fn: (pool: Pool, config: Config, applied: string[]) => Promise<T>,
): Promise<T> {
  const { config } = await commandDatabase(loadConfig({ env: process.env }));
  const pool = createPool({ connectionString: config.databaseUrl, max: 2, applicationName: 'magento-async-cli' });
  try {
    const applied = options.migrate ? await migrate(pool, config.schema) : [];
    return await fn(pool, config, applied);
  } finally {
    await pool.end();
  }
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return Number(value);
}

/** Plain text table, columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

function storeTable(stores: readonly Store[]): string {
  return formatTable(
    ['ID', 'Code', 'Name', 'Website ID', 'Active'],
    stores.map((s) => [String(s.id), s.code, s.name, String(s.websiteId), s.isActive ? 'yes' : 'no']),
  );
}

export function registerInfraCommands(program: Command): void {
  program
    .command('setup:upgrade')
    .description('Apply pending database migrations (the server and consumers also do this at start)')
    .action(async () => {
      await withDatabase({ migrate: true }, async (_pool, config, applied) => {
        if (applied.length === 0) out(`Schema "${config.schema}" is up to date.`);
        else out(`Applied to schema "${config.schema}":\n${applied.map((n) => `  ${n}`).join('\n')}`);
      });
    });

  program
    .command('store:create')
    .description('Create a store view; its code then works in URLs (/rest/<code>/async/...)')
    .requiredOption('--code <code>', 'store code: a lowercase letter, then a-z, 0-9 or _; at most 32 characters')
    .requiredOption('--name <name>', 'store view name')
    .option('--website-id <id>', 'website id', positiveInt, 1)
    .action(async (opts: { code: string; name: string; websiteId: number }) => {
      await withDatabase({ migrate: true }, async (pool, config) => {
        const store = await createStore(pool, config.schema, {
          code: opts.code,
          name: opts.name,
          websiteId: opts.websiteId,
        });
        out(`Created store view "${store.code}" with id ${store.id}.`);
        out('Running servers on this database pick it up within a few seconds.');
      });
    });

  program
    .command('store:list')
    .description('List store views (id 0 is the admin scope, addressed as "all" in URLs)')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      await withDatabase({ migrate: true }, async (pool, config) => {
        const stores = await listStores(pool, config.schema);
        out(opts.json ? JSON.stringify(stores, null, 2) : storeTable(stores));
      });
    });

  program
    .command('integration:token:create')
    .description('Issue a bearer token for REST clients; the token is printed once, as the last line')
    .requiredOption('--name <name>', 'who the token is for (shown in logs)')
    // Required: a forgotten flag must not silently grant every resource.
    .requiredOption('--resources <list>', '"all", or comma-separated ACL resources (Magento_Catalog::products,...)')
    .action(async (opts: { name: string; resources: string }) => {
      const resources = parseResourceList(opts.resources);
      await withDatabase({ migrate: true }, async (pool, config) => {
        const issued = await createIntegrationToken(pool, config.schema, { name: opts.name, resources });
        const granted = resources === 'all' ? 'all resources' : resources.join(', ');
        out(`Created integration token #${issued.id} "${opts.name.trim()}" with access to ${granted}.`);
        out('Send it as "Authorization: Bearer <token>". It is stored hashed and cannot be shown again:');
        out(issued.token);
      });
    });

  program
    .command('integration:token:revoke')
    .description('Revoke an integration token by id (servers stop accepting it within 10 seconds)')
    .argument('<id>', 'token id, as printed by integration:token:create', positiveInt)
    .action(async (id: number) => {
      await withDatabase({ migrate: true }, async (pool, config) => {
        if (!(await revokeIntegrationToken(pool, config.schema, id))) {
          throw new Error(`No active integration token with id ${id}.`);
        }
        out(`Revoked integration token #${id}.`);
      });
    });
}
