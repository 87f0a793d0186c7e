/**
 * The test kit, as a plugin author uses it: a plugin in memory runs through the real HTTP accept,
 * consumer, argument parsing, store scope and interceptor chain, and the kit reads back what the
 * status API shows and what the handler wrote.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  definePlugin,
  OperationError,
  RequestRejectedError,
  RetriableError,
  STATUS,
  startTestKit,
  type TestKit,
} from '../../src/testing/index.ts';

const seen: { store: unknown; attempt: number; args: unknown }[] = [];

const plugin = definePlugin({
  name: 'Acme_Kit',
  compatibility: '^1.0.0',
  handlers: {
    async PutV1ProductsSku(args: { sku: string; product: { price?: number; name?: string } }, ctx) {
      seen.push({ store: ctx.store, attempt: ctx.operation.attempt, args });
      if (args.product.name === 'fail') throw new OperationError('Price list is closed', { code: 42 });
      if (args.product.name === 'later') throw new RetriableError('Price list is locked', { code: 7 });
      await ctx.tx.query('INSERT INTO acme_kit_price (sku, store_id, price) VALUES ($1, $2, $3)', [
        args.sku,
        ctx.store.id,
        args.product.price,
      ]);
      return { sku: args.sku, price: args.product.price };
    },
  },
  interceptors: [
    {
      name: 'round',
      target: 'PutV1ProductsSku',
      before: (args: { product: { price?: number } }) => ({
        ...args,
        product: { ...args.product, price: Math.round(args.product.price ?? 0) },
      }),
    },
    { name: 'tag', target: '*', after: (result) => ({ ...(result as object), tagged: true }) },
  ],
});
const module = {
  default: plugin,
  migrations: ['CREATE TABLE IF NOT EXISTS acme_kit_price (sku text, store_id int, price numeric)'],
};

describe('the test kit', () => {
  let kit: TestKit;
  before(async () => {
    kit = await startTestKit({ plugins: [module], stores: [{ code: 'second', name: 'Second Store View' }] });
  });
  after(() => kit.close());

  test('runs an operation through the interceptors and the handler, and reads its outcome and effects', async () => {
    const outcome = await kit.run('PutV1ProductsSku', { sku: 'SKU-1', product: { price: 29.4 } });
    assert.equal(outcome.status, STATUS.COMPLETE);
    assert.equal(outcome.handler, 'Acme_Kit::PutV1ProductsSku');
    assert.equal(outcome.message, 'Service execution success Acme_Kit::PutV1ProductsSku');
    assert.deepEqual(outcome.result, { sku: 'SKU-1', price: 29, tagged: true });
    const rows = await kit.query<{ sku: string; price: string }>('SELECT sku, price FROM acme_kit_price');
    assert.deepEqual(rows, [{ sku: 'SKU-1', price: '29' }]);
  });

  test('gives the handler the store scope of the URL', async (t) => {
    const cases = [
      { store: undefined, scope: { id: 1, code: null, explicit: false } },
      { store: 'all', scope: { id: 0, code: 'all', explicit: true } },
      { store: 'second', scope: { id: 2, code: 'second', explicit: true } },
    ];
    for (const c of cases) {
      await t.test(`store ${c.store ?? '(none)'}`, async () => {
        seen.length = 0;
        const outcome = await kit.run('PutV1ProductsSku', { sku: 'SKU-S', product: { price: 1 } }, { store: c.store });
        assert.equal(outcome.status, STATUS.COMPLETE, outcome.message ?? '');
        assert.deepEqual(seen[0]!.store, c.scope);
      });
    }
  });

  test('shows failures as the status API does: message and code, no result, no effects', async (t) => {
    const cases = [
      { name: 'fail', status: STATUS.FAILED, message: 'Price list is closed', code: 42 },
      { name: 'later', status: STATUS.RETRIABLY_FAILED, message: 'Price list is locked', code: 7 },
    ];
    for (const c of cases) {
      await t.test(c.name, async () => {
        const outcome = await kit.run('PutV1ProductsSku', { sku: `SKU-${c.name}`, product: { name: c.name } });
        assert.equal(outcome.status, c.status);
        assert.equal(outcome.message, c.message);
        assert.equal(outcome.errorCode, c.code);
        assert.equal(outcome.handler, null);
        assert.deepEqual(await kit.query('SELECT * FROM acme_kit_price WHERE sku = $1', [`SKU-${c.name}`]), []);
      });
    }
  });

  test('runs a bulk in order, each element with its own outcome', async () => {
    const outcomes = await kit.runBulk('PutV1ProductsSku', [
      { sku: 'B-1', product: { sku: 'B-1', price: 1.2 } },
      { sku: 'B-2', product: { sku: 'B-2', name: 'fail' } },
    ]);
    assert.deepEqual(
      outcomes.map((o) => [o.key, o.status]),
      [
        [0, STATUS.COMPLETE],
        [1, STATUS.FAILED],
      ],
    );
  });

  test('rejects invalid arguments as the server does, before anything runs', async () => {
    seen.length = 0;
    await assert.rejects(kit.run('PutV1ProductsSku', { sku: 'SKU-X', product: { price: 'cheap' } }), (error) => {
      assert.ok(error instanceof RequestRejectedError);
      assert.equal(error.status, 400);
      assert.equal(typeof (error.body as { message: string }).message, 'string');
      return true;
    });
    assert.equal(seen.length, 0);
  });

  test('gives the smallest arguments the spec accepts, which run as they are', async () => {
    const args = kit.example('PutV1ProductsSku');
    assert.deepEqual(args, { sku: 'example-sku', product: { sku: 'example-sku' } });
    const outcome = await kit.run('PutV1ProductsSku', args);
    assert.equal(outcome.status, STATUS.COMPLETE, outcome.message ?? '');
  });

  test('names the operation it does not know', async () => {
    await assert.rejects(kit.run('PutV1Nothing', {}), /No operation "PutV1Nothing" in the kit's routes/);
  });
});

test('a plugin that does not load fails the kit with the loader message', async () => {
  await assert.rejects(
    startTestKit({ plugins: [definePlugin({ name: 'Acme_Bad', compatibility: '^9.0.0' })] }),
    /Acme_Bad \(plugins\[0\] Acme_Bad\): requires framework \^9\.0\.0, but this is magento-async 1\.0\.0/,
  );
});

test('loads plugins from a folder and packages from a project, as pluginsDir and pluginPackages do', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kit-sources-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'plugins/deleting'), { recursive: true });
  writeFileSync(
    join(root, 'plugins/deleting/index.ts'),
    `export default { name: 'Acme_Deleting', compatibility: '^1.0.0', handlers: { DeleteV1ProductsSku: async (args) => ({ deleted: args.sku }) } };\n`,
  );
  mkdirSync(join(root, 'project/node_modules/acme-posting'), { recursive: true });
  writeFileSync(
    join(root, 'project/node_modules/acme-posting/package.json'),
    '{"name":"acme-posting","type":"module"}',
  );
  writeFileSync(
    join(root, 'project/node_modules/acme-posting/index.js'),
    `export default { name: 'Acme_Posting', compatibility: '^1.0.0', handlers: { PostV1Products: async (args) => ({ posted: args.product.sku }) } };\n`,
  );
  const kit = await startTestKit({
    pluginsDir: join(root, 'plugins'),
    packages: ['acme-posting'],
    projectDir: join(root, 'project'),
  });
  t.after(() => kit.close());
  const cases = [
    { operationId: 'DeleteV1ProductsSku', args: { sku: 'D-1' }, handler: 'Acme_Deleting', result: { deleted: 'D-1' } },
    {
      operationId: 'PostV1Products',
      args: { product: { sku: 'P-1' } },
      handler: 'Acme_Posting',
      result: { posted: 'P-1' },
    },
  ];
  for (const c of cases) {
    const outcome = await kit.run(c.operationId, c.args);
    assert.equal(outcome.handler, `${c.handler}::${c.operationId}`, outcome.message ?? '');
    assert.deepEqual(outcome.result, c.result);
  }
  // What no plugin implements fails as in production, naming the route.
  const nobody = await kit.run('PutV1ProductsSku', { sku: 'N-1', product: { price: 1 } });
  assert.equal(nobody.status, STATUS.FAILED);
  assert.match(nobody.message ?? '', /No handler is implemented for route PUT \/V1\/products\/\{sku\}/);
});

test('a handler that never returns is aborted at the kit timeout, as the consumer aborts it', async () => {
  const hanging = definePlugin({
    name: 'Acme_Hanging',
    compatibility: '^1.0.0',
    handlers: { DeleteV1ProductsSku: () => new Promise(() => {}) },
  });
  const kit = await startTestKit({ plugins: [hanging], timeoutMs: 1000 });
  try {
    const outcome = await kit.run('DeleteV1ProductsSku', { sku: 'H-1' });
    assert.equal(outcome.status, STATUS.RETRIABLY_FAILED);
    assert.equal(outcome.message, "The operation's handler did not finish within 1 s; it was aborted.");
  } finally {
    await kit.close();
  }
});
