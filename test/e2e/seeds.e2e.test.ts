/**
 * Accept → consume → effect → status, end to end with the shipped plugins: the seeds' examples
 * run to completion with the documented statuses, effects land in the plugin tables, and the store
 * scope of the URL reaches the handler.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TEST_CRYPT_KEY, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';
import { parseCryptKey } from '../../src/accept/crypt-key.ts';
import { ident } from '../../src/db/pool.ts';
import { createStore } from '../../src/store/index.ts';
import { loadPlugins, runInstalls } from '../../src/plugins/loader.ts';
import { pluginSchema } from '../../src/plugins/migrations.ts';
import { startConsumer, type ConsumerHandle, type OperationInvoker } from '../../src/consumer/index.ts';
import { queueForEntity } from '../../src/queue/names.ts';
import { definePlugin } from '../../src/plugin.ts';

let server: TestServer;
let consumer: ConsumerHandle;
let cartConsumer: ConsumerHandle;

// A handler that holds its operations until the test opens the gate: to cancel a running operation.
let releaseCart: () => void = () => {};
const cartGate = new Promise<void>((resolve) => (releaseCart = resolve));
let cartStarted: () => void = () => {};
const cartRunning = new Promise<void>((resolve) => (cartStarted = resolve));
const cartSkusRun: string[] = [];
const cartPlugin = definePlugin({
  name: 'Test_Cart',
  compatibility: '*',
  handlers: {
    async PostV1CartsQuoteIdItems(args: { cartItem: { sku: string } }) {
      cartSkusRun.push(args.cartItem.sku);
      cartStarted();
      await cartGate;
      return { sku: args.cartItem.sku };
    },
  },
});

before(async () => {
  server = await startTestServer('seeds-e2e');
  await createStore(server.db.pool, server.db.schema, { code: 'fixturestore', name: 'Fixture', websiteId: 1 });
  const routes = server.artifacts.routes;
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    examples: ['catalog', 'customer', 'cms'],
    modules: [{ source: 'test/e2e/seeds.e2e.test.ts', module: { default: cartPlugin } }],
  });
  await runInstalls(server.db.pool, server.db.schema, registry.installs);
  const common = {
    pool: server.db.pool,
    boss: server.boss,
    schema: server.db.schema,
    registry: registry as unknown as OperationInvoker,
    searchPath: registry.searchPath(server.db.schema),
    cryptKey: parseCryptKey(TEST_CRYPT_KEY),
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    log: { info() {}, warn() {}, error() {}, debug() {} },
  };
  const cartQueue = queueForEntity('carts');
  consumer = await startConsumer({
    ...common,
    queues: [...new Set(routes.map((r) => queueForEntity(r.entity)))].filter((q) => q !== cartQueue),
    batchSize: 10,
    concurrency: 2,
  });
  // The cart queue has a consumer of its own with two handler slots: a consumer claims only what it
  // can start, so while the cancel test holds both slots, the rest of its bulk is still queued.
  cartConsumer = await startConsumer({ ...common, queues: [cartQueue], batchSize: 10, concurrency: 1, inFlight: 2 });
});
after(async () => {
  await consumer?.stop();
  await cartConsumer?.stop();
  await server?.stop();
});

/** Accepts a request, then long-polls the status API until the bulk finished. */
async function run(method: string, path: string, body: unknown): Promise<any> {
  const accepted = await server.request(method, path, { body });
  assert.equal(accepted.status, 202, accepted.text);
  const uuid = accepted.json.bulk_uuid;
  for (let i = 0; i < 10; i++) {
    const res = await server.request('GET', `/rest/V1/bulk/${uuid}/status?waitSeconds=10`);
    assert.equal(res.status, 200, res.text);
    if (res.json.bulk_status >= 2) return res.json;
  }
  assert.fail(`bulk ${uuid} did not finish`);
}

async function productValue(sku: string, storeId: number, attribute: string): Promise<unknown> {
  const { rows } = await server.db.pool.query(
    `SELECT value FROM ${ident(pluginSchema(server.db.schema, 'Magento_Catalog'))}.catalog_product_value WHERE sku = $1 AND store_id = $2 AND attribute = $3`,
    [sku, storeId, attribute],
  );
  return rows[0]?.value;
}

test('PUT price of 24-MB01 in default: status 1, Magento result message, price set in the default view only', async () => {
  const created = await run('POST', '/rest/async/V1/products', {
    product: { sku: '24-MB01', name: 'Joust Duffle Bag', price: 34, type_id: 'simple', attribute_set_id: 4 },
  });
  assert.equal(created.operations_list[0].status, 1);
  const updated = await run('PUT', '/rest/default/async/V1/products/24-MB01', { product: { price: 29 } });
  assert.deepEqual(updated.operations_list, [
    {
      id: 0,
      status: 1,
      result_message: 'Service execution success Magento_Catalog::PutV1ProductsSku',
      error_code: null,
    },
  ]);
  assert.equal(updated.bulk_status, 2);
  assert.equal(await productValue('24-MB01', 0, 'price'), 34, 'the global value is untouched');
  assert.equal(await productValue('24-MB01', 1, 'price'), 29, 'the default store view got the new price');
  const detailed = await server.request('GET', `/rest/V1/bulk/${updated.bulk_id}/detailed-status`);
  assert.equal(detailed.json.operations_list[0].serialized_data, null, 'serialized_data is cleared on success');
  assert.equal(JSON.parse(detailed.json.operations_list[0].result_serialized_data).sku, '24-MB01');
});

test('store scope fallback over HTTP: `all` fills views without their own value, a code changes only its view', async () => {
  await run('POST', '/rest/async/V1/products', { product: { sku: 'multistore-sku-test-1', name: 'Test Name ' } });
  await run('PUT', '/rest/fixturestore/async/V1/products/multistore-sku-test-1', {
    product: { name: 'Test Name fixturestore' },
  });
  assert.equal(await productValue('multistore-sku-test-1', 2, 'name'), 'Test Name fixturestore');
  assert.equal(await productValue('multistore-sku-test-1', 1, 'name'), undefined, 'default view keeps falling back');
  await run('PUT', '/rest/all/async/V1/products/multistore-sku-test-1', { product: { name: 'Test Name all' } });
  assert.equal(await productValue('multistore-sku-test-1', 0, 'name'), 'Test Name all');
  assert.equal(await productValue('multistore-sku-test-1', 2, 'name'), 'Test Name fixturestore', 'own value kept');
});

test("the four-customer bulk with a duplicate: the duplicate fails with status 3 and Magento's message, siblings complete", async () => {
  const customer = (email: string) => ({
    customer: { email, firstname: 'John', lastname: 'Doe', website_id: 1 },
    password: 'J!Do&007x',
  });
  const status = await run('POST', '/rest/default/async/bulk/V1/customers', [
    customer('john.doe1@example.com'),
    customer('john.doe2@example.com'),
    customer('john.doe1@example.com'),
    customer('john.doe3@example.com'),
  ]);
  const byId = new Map(status.operations_list.map((o: { id: number }) => [o.id, o]));
  const statuses = [0, 1, 2, 3].map((id) => (byId.get(id) as { status: number }).status);
  // Which of the two identical emails wins depends on which worker commits first.
  assert.deepEqual(statuses.filter((s) => s === 1).length, 3);
  const failed = status.operations_list.find((o: { status: number }) => o.status === 3);
  assert.ok([0, 2].includes(failed.id));
  assert.equal(
    failed.result_message,
    'A customer with the same email address already exists in an associated website.',
  );
  assert.equal(status.bulk_status, 3, 'finished with failure');
  const { rows } = await server.db.pool.query(
    `SELECT count(*)::int AS n FROM ${ident(pluginSchema(server.db.schema, 'Magento_Customer'))}.customer_entity`,
  );
  assert.equal(rows[0].n, 3);
});

test('the two-page CMS DELETE bulk deletes both pages', async () => {
  const cms = ident(pluginSchema(server.db.schema, 'Magento_Cms'));
  const { rows } = await server.db.pool.query(
    `INSERT INTO ${cms}.cms_page (identifier, title) VALUES ('a', 'A'), ('b', 'B') RETURNING page_id`,
  );
  const ids = rows.map((r) => String(r.page_id));
  const status = await run(
    'DELETE',
    '/rest/default/async/bulk/V1/cmsPage/byPageId',
    ids.map((pageId) => ({ pageId })),
  );
  assert.deepEqual(
    status.operations_list.map((o: { status: number }) => o.status),
    [1, 1],
  );
  const left = await server.db.pool.query(
    `SELECT count(*)::int AS n FROM ${cms}.cms_page WHERE page_id = ANY($1::int[])`,
    [ids],
  );
  assert.equal(left.rows[0].n, 0);
});

test('an operation with only a generated stub fails with status 3 naming the stub', async () => {
  const status = await run('POST', '/rest/default/async/V1/carts/mine/items', {
    cartItem: { qty: 1, quote_id: '5', sku: 'x' },
  });
  assert.equal(status.operations_list[0].status, 3);
  assert.match(status.operations_list[0].result_message, /plugins\/carts\/index\.ts/);
});

test('cancel: operations not yet running become 3 "Canceled" and never run; running ones finish and report their outcome', async () => {
  const skus = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
  const accepted = await server.request('POST', '/rest/default/async/bulk/V1/carts/byQuoteId/items', {
    // A cart each: the items of one cart keep their order (its quoteId is the entity key, whose rule
    // the server saved at start), so they would run one at a time.
    body: skus.map((sku, i) => ({ quoteId: `7${i}`, cartItem: { qty: 1, quote_id: `7${i}`, sku } })),
  });
  assert.equal(accepted.status, 202, accepted.text);
  const uuid = accepted.json.bulk_uuid;
  await cartRunning;
  // Both of the cart consumer's slots taken: the other four are still in the queue, unclaimed.
  await waitFor(() => cartSkusRun.length === 2, 15_000, 'both cart handler slots to be running');
  const started = [...cartSkusRun];
  const canceled = await server.request('POST', `/rest/V1/bulk/${uuid}/cancel`);
  assert.equal(canceled.status, 200, canceled.text);
  assert.equal(canceled.json.canceled, skus.length, 'every open operation, running or not, is marked at once');
  releaseCart();
  const status = await waitFor(
    async () => {
      const read = (await server.request('GET', `/rest/V1/bulk/${uuid}/status`)).json;
      const done = read.operations_list.filter((o: { status: number }) => o.status === 1).length;
      return done === started.length && read;
    },
    15_000,
    'the running operations to finish',
  );
  assert.equal(started.length, 2, `running: ${started.join(',')}`);
  assert.deepEqual(
    status.operations_list.map((o: { id: number; status: number; result_message: string }) => [
      o.status,
      o.result_message,
    ]),
    skus.map((sku) =>
      started.includes(sku) ? [1, 'Service execution success Test_Cart::PostV1CartsQuoteIdItems'] : [3, 'Canceled'],
    ),
  );
  // The four canceled ones are delivered to the cart consumer too: wait until it has settled every
  // job of the queue, then check that none of them reached the handler.
  await waitFor(
    async () =>
      (
        await server.db.pool.query(
          `SELECT count(*)::int AS n FROM ${ident(server.db.bossSchema)}.job WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
          [queueForEntity('carts')],
        )
      ).rows[0].n === 0,
    15_000,
    'the cart queue to be settled',
  );
  assert.deepEqual(cartSkusRun, started, 'no canceled operation reached its handler');
  assert.equal(status.bulk_status, 3);
});
