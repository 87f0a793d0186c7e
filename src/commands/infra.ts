/**
 * Operator commands for the database, store views and integration tokens. Output goes through
 * `process.stdout.write` so tests can capture it and scripts can pipe it.
 */
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

export async function setupUpgrade(): Promise<void> {
  await withDatabase({ migrate: true }, async (_pool, config, applied) => {
    if (applied.length === 0) out(`Schema "${config.schema}" is up to date.`);
    else out(`Applied to schema "${config.schema}":\n${applied.map((n) => `  ${n}`).join('\n')}`);
  });
}

export async function storeCreate(opts: { code: string; name: string; websiteId: number }): Promise<void> {
  await withDatabase({ migrate: true }, async (pool, config) => {
    const store = await createStore(pool, config.schema, {
      code: opts.code,
      name: opts.name,
      websiteId: opts.websiteId,
    });
    out(`Created store view "${store.code}" with id ${store.id}.`);
    out('Running servers on this database pick it up within a few seconds.');
  });
}

export async function storeList(opts: { json?: boolean }): Promise<void> {
  await withDatabase({ migrate: true }, async (pool, config) => {
    const stores = await listStores(pool, config.schema);
    out(opts.json ? JSON.stringify(stores, null, 2) : storeTable(stores));
  });
}

export async function tokenCreate(opts: { name: string; resources: string }): Promise<void> {
  const resources = parseResourceList(opts.resources);
  await withDatabase({ migrate: true }, async (pool, config) => {
    const issued = await createIntegrationToken(pool, config.schema, { name: opts.name, resources });
    const granted = resources === 'all' ? 'all resources' : resources.join(', ');
    out(`Created integration token #${issued.id} "${opts.name.trim()}" with access to ${granted}.`);
    out('Send it as "Authorization: Bearer <token>". It is stored hashed and cannot be shown again:');
    out(issued.token);
  });
}

export async function tokenRevoke(id: number): Promise<void> {
  await withDatabase({ migrate: true }, async (pool, config) => {
    if (!(await revokeIntegrationToken(pool, config.schema, id))) {
      throw new Error(`No active integration token with id ${id}.`);
    }
    out(`Revoked integration token #${id}.`);
  });
}
