/**
 * `queue:consumers:start --max-messages N` as an operator runs it, on a database where
 * `serve --spec <Magento 2.4.8 admin spec>` registered its 347 routes (so `async.operations.all`
 * works over a hundred queues): it handles exactly N operations and exits 0, whichever queues they
 * are on, and when fewer than N are queued it waits for the rest, as Magento's consumer does.
 * An entity, a queue or a topic name works the same way, and `queue:consumers:list` lists what
 * the served table brings.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { consumerConfig } from '../support/cli.ts';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { createTestDatabase } from '../support/db.ts';
import { runCli, startCli, type CliProcess } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';
import { SHARED_SPECS } from '../support/specs.ts';

const SPEC = join(SHARED_SPECS, 'adobedocs-admin-schema-2.4.8.json');

test(
  '--max-messages N handles exactly N over any number of queues, waits for N when fewer are queued, and exits 0',
  {
    skip: existsSync(SPEC) ? false : `${SPEC} not found (the real specs live only in the shared workspace)`,
    timeout: 300_000,
  },
  async (t) => {
    const db = await createTestDatabase('max_messages');
    const started: CliProcess[] = [];
    t.after(async () => {
      for (const p of started) await p.stop('SIGKILL');
      await db.drop();
    });
    // The operator's project: a folder of its own with a config file naming the suite's routes and
    // plugins (never this checkout's own plugins or output), where `serve --spec` keeps what it
    // generates (var/cache). No copy of the checkout: copying it cost ~2 s CPU and proved nothing
    // here. Removed when the test ends, after the processes above are stopped.
    const configFile = consumerConfig(t, db);
    const cwd = dirname(configFile);
    // The catalog example runs the product operations, so each handled one completes.
    const env = {
      ...process.env,
      DATABASE_URL: db.url,
      MAGENTO_ASYNC_CONFIG: configFile,
      MAGENTO_ASYNC_PLUGIN_EXAMPLES: 'catalog',
      LOG_LEVEL: 'warn',
    };
    const args = (rest: string[]) => [join(PROJECT_ROOT, 'bin/magento-async.js'), ...rest];
    const spawnCli = (rest: string[]) => {
      const p = startCli(process.execPath, args(rest), { cwd, env });
      started.push(p);
      return p;
    };
    // Bounded: a consumer that never exits (the failure this test is for) is killed and reported.
    const consume = (rest: string[]) =>
      runCli(process.execPath, args(['queue:consumers:start', ...rest]), { cwd, env, timeoutMs: 90_000 });

    const serve = spawnCli(['serve', '--spec', SPEC, '--port', '0']);
    const [, url] = await serve.waitFor(/serving 347 routes of \S+ at (\S+)\/rest/, 120_000);
    const issued = await runCli(
      process.execPath,
      args(['integration:token:create', '--name', 'operator', '--resources', 'all']),
      { cwd, env },
    );
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim().split('\n').pop()!;
    let made = 0;
    /** Queues product upserts (one bulk, queue async.products), new skus unless named. */
    const queueProducts = async (count: number, skus?: string[]): Promise<string> => {
      const items = Array.from({ length: count }, (_, i) => {
        const s = skus?.[i] ?? `MM-${made + 1}`;
        made++;
        return { sku: s, product: { sku: s, name: s, price: made, attribute_set_id: 4 } };
      });
      const response = await fetch(`${url}/rest/all/async/bulk/V1/products/bySku`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(items),
      });
      const body = (await response.json()) as { bulk_uuid: string };
      assert.equal(response.status, 202, JSON.stringify(body));
      return body.bulk_uuid;
    };
    /** Operations by status over the whole schema: {final, open}. */
    const counts = async () => {
      const { rows } = await db.pool.query<{ final: number; open: number }>(
        `SELECT count(*) FILTER (WHERE status <> 4)::int AS final, count(*) FILTER (WHERE status = 4)::int AS open
         FROM "${db.schema}".operation`,
      );
      return rows[0]!;
    };
    const completed = async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${db.schema}".operation WHERE status = 1`,
      );
      return rows[0]!.n;
    };

    // The case: three product operations queued, two asked for, over every queue.
    await queueProducts(3);
    const two = await consume(['async.operations.all', '--max-messages', '2']);
    assert.equal(two.code, 0, two.stdout + two.stderr);
    assert.deepEqual(await counts(), { final: 2, open: 1 });
    assert.equal(await completed(), 2, 'the catalog example ran them');

    // One queued, two asked for: it handles that one, then waits for a second.
    const waiting = spawnCli(['queue:consumers:start', 'async.operations.all', '--max-messages', '2']);
    await waitFor(async () => (await counts()).open === 0, 60_000, 'the queued operation to be handled');
    const early = await Promise.race([waiting.exited.then(() => 'exited'), Promise.resolve('running')]);
    assert.equal(early, 'running', `it stopped after one of two: ${waiting.stdout()}${waiting.stderr()}`);
    await queueProducts(1);
    assert.equal(await waiting.exited, 0, waiting.stdout() + waiting.stderr());
    assert.deepEqual(await counts(), { final: 4, open: 0 });

    // Five queued, three of them for one sku: one queue by entity, queue and topic name, each takes
    // only its share; an update put off behind an earlier one of its sku is not counted.
    await queueProducts(5, ['MM-A', 'MM-A', 'MM-A', 'MM-B', 'MM-B']);
    for (const [name, n, open] of [
      ['products', 2, 3],
      ['async.products', 1, 2],
      ['async.V1.products.sku.PUT', 2, 0],
    ] as const) {
      const run = await consume([name, '--max-messages', String(n)]);
      assert.equal(run.code, 0, `${name}: ${run.stdout}${run.stderr}`);
      assert.equal((await counts()).open, open, name);
    }
    assert.equal(await completed(), 9);

    // The consumer list names what the served table brings: the catch-all over every entity queue,
    // and each entity with its topics (orders exists only in the served spec).
    const listed = await runCli(process.execPath, args(['queue:consumers:list']), { cwd, env });
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    const line = (name: string) => lines.find((l) => l.split(/\s+/)[0] === name);
    assert.match(line('async.operations.all') ?? '', /async\.orders, .*async\.products, .*async\.#$/);
    assert.match(line('products') ?? '', /^products\s+async\.products\s+.*async\.V1\.products\.sku\.PUT/);
    assert.match(line('orders') ?? '', /^orders\s+async\.orders\s+/);

    assert.equal(await serve.stop('SIGTERM'), 0, serve.stdout() + serve.stderr());
  },
);
