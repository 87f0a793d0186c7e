/**
 * Secrets at rest, end to end with the shipped customer plugin and a real consumer: a customer's
 * password is never stored in clear (not in serialized_data, not findable with LIKE), data_hash
 * is still Magento's (the HMAC of the clear serialized_data), the handler gets the password (the
 * customer can log in with it), and once an operation is final its envelope is erased.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startTestServer, TEST_CRYPT_KEY, type TestServer } from '../support/server.ts';
import { ident } from '../../src/db/pool.ts';
import { loadPlugins, runInstalls } from '../../src/plugins/loader.ts';
import { pluginSchema } from '../../src/plugins/migrations.ts';
import { startConsumer, type ConsumerHandle, type OperationInvoker } from '../../src/consumer/index.ts';
import { queueForEntity } from '../../src/queue/names.ts';
import { parseCryptKey } from '../../src/accept/crypt-key.ts';
import { verifyPassword } from '../../examples/customer/password.ts';

let server: TestServer;
let consumer: ConsumerHandle | undefined;

before(async () => {
  server = await startTestServer('secrets-e2e');
  const registry = await loadPlugins({
    routes: server.artifacts.routes,
    pluginsDir: null,
    examples: ['customer'],
  });
  await runInstalls(server.db.pool, server.db.schema, registry.installs);
});
after(async () => {
  await consumer?.stop();
  await server?.stop();
});

const GOOD = 'Str0ng-Secret!';
const WEAK = 'weakweakweak';

test('passwords are sealed while open, opened for the handler, erased when final; data_hash is Magento’s', async () => {
  const s = ident(server.db.schema);
  const elements = [
    { customer: { email: 'sealed@example.com', firstname: 'S', lastname: 'Ealed' }, password: GOOD },
    { customer: { email: 'weak@example.com', firstname: 'W', lastname: 'Eak' }, password: WEAK },
  ];
  const res = await server.request('POST', '/rest/default/async/bulk/V1/customers', { body: elements });
  assert.equal(res.status, 202, res.text);
  const uuid = res.json.bulk_uuid as string;

  const { rows: open } = await server.db.pool.query(
    `SELECT operation_key, serialized_data FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
    [uuid],
  );
  for (const [i, row] of open.entries()) {
    assert.ok(!row.serialized_data.includes(elements[i]!.password), 'no clear password at rest');
    assert.match(row.serialized_data, /\\"password\\":\\"\$ma-enc\$v1\$[A-Za-z0-9_-]+\\"/);
    // data_hash is over the clear serialized_data, exactly as Magento builds it.
    const clear = JSON.stringify({
      entity_id: null,
      entity_link: '',
      meta_information: JSON.stringify(elements[i]),
      store_id: '1',
    }).replaceAll('/', '\\/');
    const hash = createHmac('sha256', parseCryptKey(TEST_CRYPT_KEY)).update(clear).digest('hex');
    assert.equal(res.json.request_items[i].data_hash, hash);
  }
  const like = await server.db.pool.query(`SELECT 1 FROM ${s}.operation WHERE serialized_data ILIKE $1`, [`%${GOOD}%`]);
  assert.equal(like.rowCount, 0);

  // Only now a consumer runs: the handler must see the clear password.
  const registry = await loadPlugins({
    routes: server.artifacts.routes,
    pluginsDir: null,
    examples: ['customer'],
  });
  consumer = await startConsumer({
    pool: server.db.pool,
    boss: server.boss,
    schema: server.db.schema,
    registry: registry as unknown as OperationInvoker,
    searchPath: registry.searchPath(server.db.schema),
    queues: [queueForEntity('customers')],
    cryptKey: parseCryptKey(TEST_CRYPT_KEY),
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    log: { info() {}, warn() {}, error() {}, debug() {} },
  });
  for (let i = 0; i < 20; i++) {
    const status = await server.request('GET', `/rest/V1/bulk/${uuid}/status?waitSeconds=5`);
    if (status.json.bulk_status >= 2) break;
  }
  const { rows: final } = await server.db.pool.query(
    `SELECT operation_key, status, serialized_data, result_message FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
    [uuid],
  );
  assert.deepEqual(
    final.map((r) => [r.operation_key, r.status]),
    [
      [0, 1],
      [1, 3],
    ],
  );
  assert.equal(final[0].serialized_data, null, 'complete: serialized_data cleared (Magento)');
  assert.match(final[1].result_message, /password/i, 'the plugin’s own OperationError message is kept');
  assert.ok(!final[1].serialized_data.includes('$ma-enc$'), 'final: no envelope left');
  assert.match(final[1].serialized_data, /\\"password\\":\\"\$ma-erased\$\\"/);

  const { rows: customer } = await server.db.pool.query(
    `SELECT password_hash FROM ${ident(pluginSchema(server.db.schema, 'Magento_Customer'))}.customer_entity WHERE email = 'sealed@example.com'`,
  );
  assert.equal(await verifyPassword(GOOD, customer[0].password_hash), true, 'the handler hashed the clear password');
});
