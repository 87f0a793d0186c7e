/**
 * The plugin author's journey, in a store project made from the packed package (`init`, outside
 * this checkout): the README's plugin example, copied verbatim to the path it names, loads beside
 * the catalog example the project turns on (it takes one operation over from it) and runs: its
 * interceptor rounds the price, its handler stores it in its own table (in its own schema) in the
 * same transaction as the operation's status. Then the project configures an upstream instead: the
 * plugin still runs its operation, and the product operations nobody else implements go to the
 * real store instead of the catalog example's local tables.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { freshProject, machineEnvironment } from '../support/package.ts';
import { runCli, startCli } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';
import { extractBlocks, targetPath } from '../docs/blocks.ts';

test(
  'the README plugin example, copied verbatim, loads beside the shipped plugins and runs',
  { timeout: 600_000 },
  async (t) => {
    const example = extractBlocks('README.md', readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8')).find(
      (b) => b.lang === 'ts' && targetPath(b)?.startsWith('plugins/'),
    );
    assert.ok(example, 'README.md has a plugin example whose first line names its file');
    const parent = mkdtempSync(join(tmpdir(), 'plugin-author-'));
    // Public like a usual folder: embedded PostgreSQL runs as another user when the test is root.
    chmodSync(parent, 0o755);
    t.after(() => rmSync(parent, { recursive: true, force: true }));
    const project = join(parent, 'my-store');
    await freshProject(project);
    const env = machineEnvironment({ PORT: '0', DATABASE_URL: undefined, MAGENTO_ASYNC_PLUGIN_EXAMPLES: undefined });
    env.PATH = `${join(project, 'node_modules/.bin')}:${env.PATH}`;
    const configure = (settings: object) =>
      writeFileSync(
        join(project, 'magento-async.config.json'),
        JSON.stringify({ generatedDir: 'generated', pluginsDir: 'plugins', ...settings }),
      );
    // The sample spec the package ships, with the catalog example on (as the README's tour does).
    configure({ plugins: { examples: ['catalog'] } });
    const spec = 'node_modules/magento-async/openapi/magento-sample.yaml';
    const generated = await runCli('npx', ['magento-async', 'codegen', '--spec', spec], { cwd: project, env });
    assert.equal(generated.code, 0, generated.stdout + generated.stderr);
    const path = targetPath(example)!;
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), example.code);

    /** One `npm start` of the project: sends `requests`, waits for each operation's final status. */
    const withStart = async (
      requests: { method: string; path: string; body: unknown }[],
      whileRunning: () => Promise<void> = async () => {},
    ): Promise<{ status: number; result_message: string }[]> => {
      const start = startCli('npm', ['start', '--silent'], { cwd: project, env });
      try {
        const [, url] = await start.waitFor(/magento-async is running at (\S+)/, 90_000);
        const [, token] = await start.waitFor(/Token \([^)]*\): (\S+)/);
        const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
        const outcomes = [];
        for (const r of requests) {
          const accepted = await fetch(`${url}/rest/default/async${r.path}`, {
            method: r.method,
            headers,
            body: JSON.stringify(r.body),
          });
          assert.equal(accepted.status, 202);
          const { bulk_uuid: uuid } = (await accepted.json()) as { bulk_uuid: string };
          type Operation = { status: number; result_message: string };
          let operation: Operation | undefined;
          await waitFor(
            async () => {
              const detail = await fetch(`${url}/rest/V1/bulk/${uuid}/detailed-status`, { headers });
              operation = ((await detail.json()) as { operations_list: Operation[] }).operations_list[0];
              return operation?.status === 1 || operation?.status === 3;
            },
            30_000,
            'the operation to be final',
          ).catch(() => assert.fail(`not final: ${JSON.stringify(operation)}`));
          outcomes.push(operation!);
        }
        await whileRunning();
        // Ctrl-C: magento-async stops everything; npm itself then reports the signal it got.
        const stopped = await start.stop('SIGINT');
        assert.ok(
          [0, 130, 'SIGINT'].includes(stopped as never),
          `${String(stopped)}\n${start.stdout()}${start.stderr()}`,
        );
        assert.match(start.stdout(), /Stopped\./, start.stdout() + start.stderr());
        return outcomes;
      } finally {
        await start.stop('SIGKILL');
      }
    };
    const price = { method: 'PUT', path: '/V1/products/ACME-1', body: { product: { price: 29.4 } } };
    const create = { method: 'POST', path: '/V1/products', body: { product: { sku: 'NEW-1', name: 'New' } } };

    // The embedded database runs only while `npm start` does.
    const pricesStored = async () => {
      const instance = JSON.parse(readFileSync(join(project, 'var/instance.json'), 'utf8')) as {
        databaseUrl: string;
      };
      const client = new pg.Client({ connectionString: instance.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query(
          'SELECT sku, price::float AS price FROM magento_async__acme_pricing.acme_price',
        );
        assert.deepEqual(rows, [{ sku: 'ACME-1', price: 29 }], 'rounded by the interceptor, stored by the handler');
      } finally {
        await client.end();
      }
    };
    const [priced, created] = await withStart([price, create], pricesStored);
    assert.equal(priced!.status, 1, JSON.stringify(priced));
    assert.match(priced!.result_message, /Acme_Pricing::PutV1ProductsSku/);
    assert.match(created!.result_message, /Magento_Catalog::PostV1Products/, 'the project runs the catalog example');

    // The project points at its real store.
    const seen: string[] = [];
    const store = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: 7, sku: 'NEW-2' }));
    });
    await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => store.close(resolve)));
    configure({ upstream: { baseUrl: `http://127.0.0.1:${(store.address() as AddressInfo).port}/rest` } });
    const [pricedAgain, forwarded] = await withStart([
      price,
      { ...create, body: { product: { sku: 'NEW-2', name: 'New' } } },
    ]);
    assert.match(pricedAgain!.result_message, /Acme_Pricing::PutV1ProductsSku/);
    assert.equal(forwarded!.status, 1, JSON.stringify(forwarded));
    assert.match(forwarded!.result_message, /MagentoAsync_HttpForward::PostV1Products/);
    assert.deepEqual(
      seen,
      ['POST /rest/default/V1/products'],
      'the real store got the create; Acme_Pricing kept its own',
    );
  },
);
