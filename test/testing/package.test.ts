/**
 * Done when (issue 15): a plugin package written with the test kit is installed into a fresh project
 * and runs there. In temporary folders, as an author and an integrator would, with no registry:
 * the package (test/testing/fixtures/acme-stock) gets magento-async linked from this checkout and
 * passes its own kit tests (on an embedded PostgreSQL of the kit's own: no DATABASE_URL); it is
 * packed; a new project installs the tarball and this checkout, names the package in
 * `pluginPackages`, and its `serve` and consumer process an operation with the package's handler.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { runCli, startCli, type CliProcess } from '../support/processes.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures/acme-stock');
const SPEC = join(PROJECT_ROOT, 'openapi/magento-sample.yaml');

/** This Node (24) first on PATH, for npm scripts and the `#!/usr/bin/env node` of bin links. */
function environment(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    ...extra,
  };
  // A test file's process would make a nested `node --test` report to it instead of printing, and
  // an outer `npm test` leaves its own settings (npm_config_local_prefix, …) for a nested npm.
  delete env.NODE_TEST_CONTEXT;
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  for (const key of ['MAGENTO_ASYNC_CONFIG', 'MAGENTO_ASYNC_SPEC', 'MAGENTO_ASYNC_VAR_DIR', 'npm_config_prefix'])
    delete env[key];
  return env;
}

async function npm(cwd: string, args: string[], env: Record<string, string | undefined>) {
  const result = await runCli('npm', args, { cwd, env, timeoutMs: 240_000 });
  assert.equal(result.code, 0, `npm ${args.join(' ')} in ${cwd}\n${result.stdout}\n${result.stderr}`);
  return result;
}

const OFFLINE = ['--offline', '--no-audit', '--no-fund', '--install-links=false', '--loglevel=error'];

test(
  'a plugin package tested with the kit installs into a fresh project and runs there',
  { timeout: 300_000 },
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'plugin-package-'));
    chmodSync(root, 0o755);
    t.after(() => rmSync(root, { recursive: true, force: true }));

    // The author's side: the package's folder, magento-async linked for its tests, its tests run.
    const pkgDir = join(root, 'acme-stock');
    cpSync(FIXTURE, pkgDir, { recursive: true });
    const authorEnv = environment({ DATABASE_URL: undefined });
    await npm(pkgDir, ['install', '--save-dev', PROJECT_ROOT, ...OFFLINE], authorEnv);
    const tested = await npm(pkgDir, ['test'], authorEnv);
    assert.match(tested.stdout, /pass 2/, tested.stdout);
    assert.match(tested.stdout, /fail 0/, tested.stdout);
    const packed = await npm(root, ['pack', './acme-stock', '--loglevel=error'], authorEnv);
    const tarball = join(root, packed.stdout.trim().split('\n').at(-1)!);

    // The integrator's side: a new project with magento-async and the package installed.
    const shop = join(root, 'shop');
    cpSync(join(FIXTURE, '..', 'shop'), shop, { recursive: true });
    const schema = `pkg_${process.pid}_${Date.now() % 1e6}`;
    const shopEnv = environment({ MAGENTO_ASYNC_SCHEMA: schema, PORT: '0' });
    await npm(shop, ['install', PROJECT_ROOT, tarball, ...OFFLINE], shopEnv);
    writeFileSync(
      join(shop, 'magento-async.config.json'),
      JSON.stringify({ pluginPackages: ['acme-stock'], logLevel: 'warn' }, null, 2),
    );
    const databaseUrl = process.env.DATABASE_URL!;
    t.after(async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      // Ours, pg-boss's and the plugins' own (`<schema>__<plugin>`).
      const { rows } = await client.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname IN ($1, $2) OR starts_with(nspname, $3)`,
        [schema, `${schema}_boss`, `${schema}__`],
      );
      for (const r of rows) await client.query(`DROP SCHEMA IF EXISTS "${r.nspname}" CASCADE`);
      await client.end();
    });

    const bin = join(shop, 'node_modules/.bin/magento-async');
    const running: CliProcess[] = [];
    t.after(async () => {
      for (const p of running) await p.stop('SIGKILL');
    });
    const serve = startCli(bin, ['serve', '--spec', SPEC], { cwd: shop, env: shopEnv });
    running.push(serve);
    const [, url] = await serve.waitFor(/serving \d+ routes of \S+ at (http:\/\/\S+)\/rest/, 120_000);
    const consumer = startCli(bin, ['queue:consumers:start', 'async.operations.all'], { cwd: shop, env: shopEnv });
    running.push(consumer);
    const issued = await runCli(bin, ['integration:token:create', '--name', 'shop', '--resources', 'all'], {
      cwd: shop,
      env: shopEnv,
    });
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim().split('\n').at(-1)!;
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

    const accepted = await fetch(`${url}/rest/default/async/V1/products/SHOP-1`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ product: { price: 19.9 } }),
    });
    assert.equal(accepted.status, 202, await accepted.clone().text());
    const { bulk_uuid: uuid } = (await accepted.json()) as { bulk_uuid: string };
    const detail = await fetch(`${url}/rest/V1/bulk/${uuid}/detailed-status?waitSeconds=60`, { headers });
    const [operation] = ((await detail.json()) as { operations_list: { status: number; result_message: string }[] })
      .operations_list;
    assert.deepEqual(
      operation && { status: operation.status, message: operation.result_message },
      { status: 1, message: 'Service execution success Acme_Stock::PutV1ProductsSku' },
      consumer.stderr(),
    );

    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      // The plugin's table: in our schema, or in the plugin's own where its migrations run there.
      const found = await client.query<{ table_schema: string }>(
        `SELECT table_schema FROM information_schema.tables
          WHERE table_name = 'acme_stock_price' AND (table_schema = $1 OR starts_with(table_schema, $1 || '__'))`,
        [schema],
      );
      assert.equal(found.rows.length, 1, 'the package created its table once');
      const { rows } = await client.query(
        `SELECT sku, store_id, price::float AS price FROM "${found.rows[0]!.table_schema}".acme_stock_price`,
      );
      assert.deepEqual(rows, [{ sku: 'SHOP-1', store_id: 1, price: 19.9 }]);
    } finally {
      await client.end();
    }
    assert.equal(await consumer.stop('SIGTERM'), 0, consumer.stderr());
    assert.equal(await serve.stop('SIGTERM'), 0, serve.stderr());
  },
);
