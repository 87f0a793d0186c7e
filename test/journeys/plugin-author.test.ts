/**
 * The plugin author's journey: the README's plugin example, copied verbatim to the path it names,
 * loads beside the shipped plugins (it takes one operation over from the catalog plugin) and runs
 * under `npm start`: its interceptor rounds the price, its handler stores it in its own table in
 * the same transaction as the operation's status.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { copyCheckout, PROJECT_ROOT } from '../support/checkout.ts';
import { startCli } from '../support/processes.ts';
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
    const start = startCli('npm', ['start', '--silent'], { cwd: checkout.dir, env });
    try {
      const [, url] = await start.waitFor(/magento-async is running at (\S+)/, 90_000);
      const [, token] = await start.waitFor(/Token \([^)]*\): (\S+)/);
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
      const accepted = await fetch(`${url}/rest/default/async/V1/products/ACME-1`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ product: { price: 29.4 } }),
      });
      assert.equal(accepted.status, 202);
      const { bulk_uuid: uuid } = (await accepted.json()) as { bulk_uuid: string };

      let operation: { status: number; result_message: string } | undefined;
      for (const until = Date.now() + 30_000; operation?.status !== 1;) {
        assert.ok(Date.now() < until, `not complete: ${JSON.stringify(operation)}`);
        assert.notEqual(operation?.status, 3, JSON.stringify(operation));
        const detail = await fetch(`${url}/rest/V1/bulk/${uuid}/detailed-status`, { headers });
        operation = ((await detail.json()) as { operations_list: (typeof operation)[] }).operations_list[0];
        if (operation?.status !== 1) await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(operation.result_message, /Acme_Pricing::PutV1ProductsSku/);

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
      assert.equal(await start.stop('SIGINT'), 0, start.stdout() + start.stderr());
    } finally {
      await start.stop('SIGKILL');
    }
  },
);
