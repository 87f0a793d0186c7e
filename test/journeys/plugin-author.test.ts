/**
 * The plugin author's journey: the README's plugin example, copied verbatim to the path it names,
 * loads beside the example plugins `npm start` runs (it takes one operation over from the catalog
 * example) and runs: its interceptor rounds the price, its handler stores it in its own table (in
 * its own schema) in the same transaction as the operation's status. Then the project configures
 * an upstream: the example still runs its operation, and the product operations nobody else
 * implements go to the real store instead of the catalog example's local tables.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { copyCheckout, PROJECT_ROOT } from '../support/checkout.ts';
import { startCli } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';
import { extractBlocks, targetPath } from '../docs/blocks.ts';

test(
  'the README plugin example, copied verbatim, loads beside the shipped plugins and runs',
  { timeout: 120_000 },
  async (t) => {
    const example = extractBlocks('README.md', readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8')).find(
      (b) => b.lang === 'ts' && targetPath(b)?.startsWith('plugins/'),
    );
    assert.ok(example, 'README.md has a plugin example whose first line names its file');
    const checkout = copyCheckout();
    t.after(() => checkout.remove());
    const path = targetPath(example)!;
    mkdirSync(dirname(join(checkout.dir, path)), { recursive: true });
    writeFileSync(join(checkout.dir, path), example.code);

    const env: Record<string, string | undefined> = { ...process.env, PORT: '0' };
    for (const key of ['DATABASE_URL', 'MAGENTO_ASYNC_VAR_DIR', 'MAGENTO_ASYNC_CONFIG', 'MAGENTO_ASYNC_SPEC'])
      delete env[key];
    delete env.MAGENTO_ASYNC_PLUGIN_EXAMPLES;

    /** One `npm start` of the checkout: sends `requests`, waits for each operation's final status. */
    const withStart = async (
      requests: { method: string; path: string; body: unknown }[],
      whileRunning: () => Promise<void> = async () => {},
    ): Promise<{ status: number; result_message: string }[]> => {
      const start = startCli('npm', ['start', '--silent'], { cwd: checkout.dir, env });
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
        assert.equal(await start.stop('SIGINT'), 0, start.stdout() + start.stderr());
        return outcomes;
      } finally {
        await start.stop('SIGKILL');
      }
    };
    const price = { method: 'PUT', path: '/V1/products/ACME-1', body: { product: { price: 29.4 } } };
    const create = { method: 'POST', path: '/V1/products', body: { product: { sku: 'NEW-1', name: 'New' } } };

    // The embedded database runs only while `npm start` does.
    const pricesStored = async () => {
      const instance = JSON.parse(readFileSync(join(checkout.dir, 'var/instance.json'), 'utf8')) as {
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
    assert.match(created!.result_message, /Magento_Catalog::PostV1Products/, 'the demo runs the catalog example');

    // The project points at its real store.
    const seen: string[] = [];
    const store = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: 7, sku: 'NEW-2' }));
    });
    await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => store.close(resolve)));
    writeFileSync(
      join(checkout.dir, 'magento-async.config.json'),
      JSON.stringify({ upstream: { baseUrl: `http://127.0.0.1:${(store.address() as AddressInfo).port}/rest` } }),
    );
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
