/**
 * The operator's journey on a real PostgreSQL: `serve --spec <a store's spec>` and consumers in
 * separate processes. A consumer started before the server learns the server's route table from
 * the database and follows it; one started after it by entity name (`orders`, only in that spec)
 * finds it too. Every accepted operation reaches a final status: those with a handler complete,
 * those without fail at once naming their route.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { copyCheckout, PROJECT_ROOT } from '../support/checkout.ts';
import { runCli, startCli, type CliProcess } from '../support/processes.ts';

const SPEC = join(PROJECT_ROOT, '../shared/specs/adobedocs-admin-schema-2.4.8.json');

test(
  'serve --spec and separate consumer processes: every accepted operation reaches a final status',
  {
    skip: existsSync(SPEC) ? false : `${SPEC} not found (the real specs live only in the shared workspace)`,
    timeout: 180_000,
  },
  async (t) => {
    const checkout = copyCheckout();
    const schema = `journey_${randomBytes(4).toString('hex')}`;
    const databaseUrl = process.env.DATABASE_URL!;
    t.after(async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(
        `DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_boss" CASCADE; DROP SCHEMA IF EXISTS "${schema}__magento_catalog" CASCADE`,
      );
      await client.end();
      checkout.remove();
    });
    // The products bulk below is the catalog example's to run: the operator turns it on.
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      MAGENTO_ASYNC_SCHEMA: schema,
      MAGENTO_ASYNC_PLUGIN_EXAMPLES: 'catalog',
      LOG_LEVEL: 'warn',
    };
    const cli = (args: string[]) =>
      runCli(process.execPath, ['bin/magento-async.js', ...args], { cwd: checkout.dir, env });
    const started: CliProcess[] = [];
    // Long-running ones without npx in between, so a signal's exit code is the command's own.
    const spawnCli = (args: string[]) => {
      const p = startCli(process.execPath, ['bin/magento-async.js', ...args], { cwd: checkout.dir, env });
      started.push(p);
      return p;
    };
    try {
      // Before any server: it knows only the checkout's generated (sample) routes.
      const early = spawnCli(['queue:consumers:start', 'async.operations.all']);
      await early.waitFor(/Database: .*\(DATABASE_URL\)/);

      const serve = spawnCli(['serve', '--spec', SPEC, '--port', '0']);
      const [, url] = await serve.waitFor(/serving 347 routes of \S+ at (\S+)\/rest/, 90_000);
      const issued = await cli(['integration:token:create', '--name', 'operator', '--resources', 'all']);
      assert.equal(issued.code, 0, issued.stderr);
      const token = issued.stdout.trim().split('\n').pop()!;

      /** `bulk:status --watch` as an operator runs it: returns once nothing is open. */
      const finished = async (uuid: string) => {
        const watched = await cli(['bulk:status', uuid, '--watch', '--interval', '200', '--json']);
        const counters = JSON.parse(watched.stdout.trim().split('\n').pop()!) as Record<string, number>;
        assert.equal(counters.open, 0, `${uuid}: ${watched.stdout}`);
      };
      const send = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${url}/rest/all${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const json = (await response.json()) as { bulk_uuid: string; request_items: unknown[] };
        assert.equal(response.status, 202, `${method} ${path}: ${JSON.stringify(json)}`);
        return json;
      };
      const bulks = [
        // The catalog example (enabled above): completes.
        await send('PUT', '/async/bulk/V1/products/bySku', [
          { sku: 'J-1', product: { sku: 'J-1', price: 10 } },
          { sku: 'J-2', product: { sku: 'J-2', price: 20 } },
        ]),
        // Only in the 2.4.8 spec, no real handler: fails at once.
        await send('DELETE', '/async/V1/products/J-1/media/7'),
      ];
      for (const bulk of bulks) await finished(bulk.bulk_uuid);
      assert.equal(await early.stop('SIGTERM'), 0, early.stdout() + early.stderr());

      // "orders" exists only in the served spec's route table; this consumer is alone on its queue.
      bulks.push(await send('POST', '/async/V1/orders/42/hold'));
      const orders = await cli(['queue:consumers:start', 'orders', '--max-messages', '1']);
      assert.equal(orders.code, 0, orders.stdout + orders.stderr);

      await finished(bulks[2]!.bulk_uuid);
      const detail = async (uuid: string) => {
        const response = await fetch(`${url}/rest/V1/bulk/${uuid}/detailed-status`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        return ((await response.json()) as { operations_list: { status: number; result_message: string }[] })
          .operations_list;
      };
      assert.deepEqual(
        (await detail(bulks[0]!.bulk_uuid)).map((o) => o.status),
        [1, 1],
      );
      const [media] = await detail(bulks[1]!.bulk_uuid);
      assert.equal(media!.status, 3);
      // No plugin and no stub has it: the message says which file to write.
      assert.match(
        media!.result_message,
        /No handler is implemented for route DELETE \/V1\/products\/\{sku\}\/media\/\{entryId\}.*implement it in plugins\/products\/index\.ts/,
      );
      const [hold] = await detail(bulks[2]!.bulk_uuid);
      assert.equal(hold!.status, 3);
      assert.match(hold!.result_message, /No handler is implemented for route POST \/V1\/orders\/\{id\}\/hold/);

      assert.equal(await serve.stop('SIGTERM'), 0, serve.stdout() + serve.stderr());
    } finally {
      for (const p of started) await p.stop('SIGKILL');
    }
  },
);
