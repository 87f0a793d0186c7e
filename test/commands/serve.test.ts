/**
 * `serve` as an operator runs it, with a project's plugin before any consumer ever ran: it applies
 * the plugin's migrations (a validate-only request's check reads the plugin's table), and accept
 * refuses a bulk whose operations' `requires` wait for each other in a cycle, naming it, with
 * nothing written; the bulk schema document describes what the plugin declared
 * (docs/dependencies.md, docs/validate-only.md).
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { createTestDatabase } from '../support/db.ts';
import { runCli, startCli, type CliProcess } from '../support/processes.ts';

const PLUGIN = `
import { definePlugin, OperationError } from '${pathToFileURL(join(PROJECT_ROOT, 'src/plugin.ts')).href}';

export const migrations = [
  "CREATE TABLE acme_blocked (sku text PRIMARY KEY); INSERT INTO acme_blocked VALUES ('blocked')",
];

// A product saved with the custom attribute "needs" requires the product it names.
const needs = (args) =>
  (args.product?.custom_attributes ?? [])
    .filter((a) => a.attribute_code === 'needs')
    .map((a) => ({ entity: 'products', key: a.value }));

export default definePlugin({
  name: 'Acme_Needs',
  compatibility: '^1.0.0',
  requires: { PutV1ProductsSku: needs },
  validate: {
    async PutV1ProductsSku(args, ctx) {
      const { rows } = await ctx.tx.query('SELECT 1 FROM acme_blocked WHERE sku = $1', [args.sku]);
      if (rows.length) throw new OperationError('The sku ' + args.sku + ' is blocked.');
    },
  },
});
`;

test(
  'serve applies plugin migrations and refuses a bulk whose requires form a cycle',
  { timeout: 180_000 },
  async (t) => {
    const db = await createTestDatabase('serve_plugins');
    const dir = mkdtempSync(join(tmpdir(), 'serve-plugins-'));
    const started: CliProcess[] = [];
    t.after(async () => {
      for (const p of started) await p.stop('SIGKILL');
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    });
    mkdirSync(join(dir, 'plugins', 'acme'), { recursive: true });
    writeFileSync(join(dir, 'plugins', 'acme', 'index.ts'), PLUGIN);
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({ schema: db.schema, bossSchema: db.bossSchema, pluginsDir: join(dir, 'plugins') }),
    );
    const env = { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile, LOG_LEVEL: 'warn' };
    const bin = join(PROJECT_ROOT, 'bin/magento-async.js');
    const serve = startCli(process.execPath, [bin, 'serve', '--port', '0'], { cwd: PROJECT_ROOT, env });
    started.push(serve);
    const [, url] = await serve.waitFor(/serving \d+ routes of \S+ at (\S+)\/rest/, 120_000);
    const issued = await runCli(
      process.execPath,
      [bin, 'integration:token:create', '--name', 'op', '--resources', 'all'],
      {
        cwd: PROJECT_ROOT,
        env,
      },
    );
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim().split('\n').pop()!;
    const put = async (query: string, items: unknown[]) => {
      const response = await fetch(`${url}/rest/default/async/bulk/V1/products/bySku?${query}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(items),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const product = (sku: string, ...needs: string[]) => ({
      sku,
      product: { sku, custom_attributes: needs.map((value) => ({ attribute_code: 'needs', value })) },
    });
    const written = async () =>
      (await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".operation`)).rows[0].n as number;

    // The bulk schema says what the plugin declared: the save waits for what it references, and
    // which key each operation provides.
    const schema = (await (
      await fetch(`${url}/rest/default/async/bulk/schema`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    const save = schema.paths['/async/bulk/V1/products/bySku']!.put!;
    assert.deepEqual(save['x-magento-async-dependencies'], {
      provides: { entity: 'products', key: ['sku'] },
      requires: { plugins: ['Acme_Needs'] },
    });
    assert.match(String(save.description), /Waits for what it references: .* Declared by Acme_Needs\./);
    assert.deepEqual(schema.paths['/async/bulk/V1/products/bySku']!.delete!['x-magento-async-dependencies'], {
      provides: { entity: 'products', key: ['sku'] },
    });

    // No consumer ever ran: the check reads the table serve's start created.
    const checked = await put('validateOnly=true&partialAccept=true', [product('blocked'), product('free')]);
    assert.equal(checked.status, 200, JSON.stringify(checked.body));
    assert.deepEqual(
      (checked.body.request_items as { status: string; error_message?: string }[]).map(
        (i) => i.error_message ?? i.status,
      ),
      ['The sku blocked is blocked.', 'accepted'],
    );

    // A and B require each other; C requires A (it only waits for the cycle: not on it).
    const cyclic = [product('A', 'B'), product('B', 'A'), product('C', 'A')];
    const cycle = 'item 0 requires products@1:B, provided by item 1 requires products@1:A';
    for (const query of ['', 'validateOnly=true']) {
      const refused = await put(query, cyclic);
      assert.equal(refused.status, 400, query);
      assert.deepEqual(refused.body, {
        message: 'Dependency cycle: %cycle, provided by the first: none can run.',
        parameters: { cycle },
      });
    }
    assert.equal(await written(), 0, 'nothing written');

    const verdicts = (body: Record<string, unknown>) =>
      (body.request_items as { id: number; status: string; error_message?: string }[]).map((i) => [
        i.id,
        i.status,
        i.error_message ?? null,
      ]);
    const expected = [
      [0, 'rejected', `Dependency cycle: ${cycle}, provided by the first: none can run.`],
      [
        1,
        'rejected',
        'Dependency cycle: item 1 requires products@1:A, provided by item 0 requires products@1:B, provided by the first: none can run.',
      ],
      [2, 'accepted', null],
    ];
    const validated = await put('validateOnly=true&partialAccept=true', cyclic);
    assert.equal(validated.status, 200);
    assert.deepEqual(verdicts(validated.body), expected);
    assert.equal(await written(), 0, 'nothing written by validate-only');
    const accepted = await put('partialAccept=true', cyclic);
    assert.equal(accepted.status, 202);
    assert.deepEqual(verdicts(accepted.body), expected);
    const { rows } = await db.pool.query(`SELECT serialized_data FROM "${db.schema}".operation`);
    assert.deepEqual(
      rows.map((r) => JSON.parse(JSON.parse(r.serialized_data).meta_information).sku),
      ['C'],
      'only the item off the cycle is stored',
    );
  },
);
