/**
 * `?validateOnly=true` against the real server: every case of the hostile corpus answered exactly
 * as accept answers it (status and body byte for byte), the accepted shapes with the same item
 * verdicts and data_hash (200, no bulk_uuid), and nothing written anywhere: every table and
 * sequence of our schema and pg-boss's is the same after a validate-only request as before it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { definePlugin } from '../../src/plugins/define.ts';
import { fingerprint, PGBOSS_TIMERS } from '../support/fingerprint.ts';
import { cases, sendCase, BULK, PRODUCTS, CORPUS_LIMITS, type Case } from '../http/hostile-corpus.cases.ts';

let server: TestServer;
/** Items the plugin's check below was given: it lets everything through, so verdicts stay accept's. */
const checked: unknown[] = [];
const counting = definePlugin({
  name: 'Acme_Counting',
  compatibility: '^1.0.0',
  validate: {
    'Magento\\Catalog\\Api\\ProductRepositoryInterface::save': (args) => {
      checked.push(args);
    },
  },
});

before(async () => {
  server = await startTestServer('validate-only', CORPUS_LIMITS, {
    plugins: [{ source: 'test', module: { default: counting } }],
  });
});
after(() => server.stop());

const everything = () =>
  fingerprint(
    server.db.pool,
    [server.db.schema, server.db.bossSchema],
    PGBOSS_TIMERS.map((t) => `${server.db.bossSchema}.${t}`),
  );

/** The validate-only answer must not differ from accept's but for status 200 and no bulk_uuid. */
function withoutBulk(acceptText: string): string {
  return acceptText.replace(/^\{"bulk_uuid":"[0-9a-f-]{36}",/, '{');
}

async function compare(c: Case): Promise<void> {
  const accepted = await sendCase(server, c);
  const before = await everything();
  const validated = await sendCase(server, c, 'validateOnly=true');
  assert.deepEqual(await everything(), before, 'a validate-only request wrote something');
  if (accepted.status === 202) {
    assert.equal(validated.status, 200, validated.text);
    assert.equal(validated.text, withoutBulk(accepted.text));
    assert.equal(validated.headers.get('idempotent-replayed'), null);
  } else {
    assert.equal(validated.status, accepted.status, validated.text);
    assert.equal(validated.text, accepted.text);
  }
  assert.equal(validated.headers.get('content-type'), accepted.headers.get('content-type'));
}

for (const c of cases) {
  test(`${c.name}: validate-only answers as accept, writes nothing`, () => compare(c));
}

const ACCEPTED: Case[] = [
  { name: 'a valid product', body: '{"product":{"sku":"vo-a","price":10,"name":"A \\u00e9"}}' },
  { name: '1e400 (rejected item)', body: '{"product":{"sku":"a","price":1e400}}' },
  {
    name: 'a bulk with -1e400 in one element',
    path: BULK,
    body: '[{"product":{"sku":"a"}},{"product":{"sku":"b","price":-1e400}},{"product":{"sku":"c"}}]',
  },
  {
    name: 'PUT with SKU beside the path’s sku',
    method: 'PUT',
    path: '/rest/default/async/V1/products/abc',
    body: '{"SKU":1,"product":{"sku":"abc"}}',
  },
  ...['"text"', '1', 'null', '{"5":{"product":{"sku":"a"}},"7":3}'].map((body) => ({
    name: `bulk body ${body} PHP casts to a list`,
    path: BULK,
    body,
  })),
  { name: 'custom_attributes {}', body: '{"product":{"sku":"a","custom_attributes":{}}}' },
  {
    name: 'partialAccept: a valid and an invalid element',
    path: BULK + '?partialAccept=true',
    body: '[{"product":{"sku":"ok"}},{"product":{"sku":"bad","price":"cheap"}},{"product":{"sku":"ok2"}}]',
  },
  { name: 'a store-scoped product', path: '/rest/all/async/V1/products', body: '{"product":{"sku":"vo-all"}}' },
].map((c) => ({ status: 202, message: '', ...c }));

for (const c of ACCEPTED) {
  test(`${c.name}: 200 with accept's items and data_hash, no bulk_uuid, nothing written`, () => compare(c));
}

test('an Idempotency-Key is not used up: the real request after a validate-only one is accepted, not replayed', async () => {
  const c: Case = {
    name: '',
    status: 202,
    message: '',
    body: '{"product":{"sku":"vo-key"}}',
    headers: { 'Idempotency-Key': 'vo-key-1' },
  };
  const before = await everything();
  const validated = await sendCase(server, c, 'validateOnly=true');
  assert.equal(validated.status, 200, validated.text);
  assert.deepEqual(await everything(), before);
  const accepted = await sendCase(server, c);
  assert.equal(accepted.status, 202, accepted.text);
  assert.equal(accepted.headers.get('idempotent-replayed'), null);
  // The key is now used: a validate-only request with it still validates (no replay, nothing written).
  const again = await everything();
  const revalidated = await sendCase(server, c, 'validateOnly=true');
  assert.equal(revalidated.status, 200);
  assert.equal(revalidated.text, withoutBulk(accepted.text));
  assert.deepEqual(await everything(), again);
});

test('validateOnly accepts true/1 and false/0; any other value is refused before anything is read', async () => {
  const c: Case = { name: '', status: 202, message: '', body: '{"product":{"sku":"vo-flag"}}' };
  for (const value of ['true', '1']) assert.equal((await sendCase(server, c, `validateOnly=${value}`)).status, 200);
  for (const value of ['false', '0']) assert.equal((await sendCase(server, c, `validateOnly=${value}`)).status, 202);
  for (const value of ['yes', 'TRUE', '', 'on']) {
    const before = await everything();
    const res = await sendCase(server, c, `validateOnly=${value}`);
    assert.equal(res.status, 400, value);
    assert.deepEqual(JSON.parse(res.text), {
      message: 'The value "%value" of %parameter is invalid: use true or false.',
      parameters: { value, parameter: 'validateOnly' },
    });
    assert.deepEqual(await everything(), before);
  }
});

test('without partialAccept an invalid element fails the validation as it fails the accept: 400 naming it', async () => {
  await compare({
    name: '',
    status: 400,
    message: '',
    path: BULK,
    body: '[{"product":{"sku":"ok"}},{"product":{"sku":"bad","price":"cheap"}}]',
  });
  const res = await sendCase(
    server,
    { name: '', status: 400, message: '', path: PRODUCTS, body: '{"product":{"price":"cheap"}}' },
    'validateOnly=true',
  );
  assert.equal(res.status, 400);
});

test('validate-only requests are counted in metrics, apart from accepted bulks', async () => {
  await sendCase(
    server,
    {
      name: '',
      status: 202,
      message: '',
      path: BULK + '?partialAccept=true',
      body: '[{"product":{"sku":"m1"}},{"product":{"price":"x"}}]',
    },
    'validateOnly=true',
  );
  // The request histogram is observed when the response has finished.
  let text = await server.metrics.registry.metrics();
  for (let i = 0; i < 50 && !/duration_seconds_count\{kind="validate"/.test(text); i++) {
    await new Promise((resolve) => setImmediate(resolve));
    text = await server.metrics.registry.metrics();
  }
  assert.match(text, /magento_async_http_request_duration_seconds_count\{kind="validate",code="200"\} [1-9]/);
  assert.match(text, /magento_async_validate_requests_total\{kind="bulk",topic="[^"]+"\} [1-9]/);
  assert.match(text, /magento_async_validated_items_total\{topic="[^"]+",store="default",verdict="accepted"\} [1-9]/);
  assert.match(text, /magento_async_validated_items_total\{topic="[^"]+",store="default",verdict="rejected"\} [1-9]/);
});

test('plugin checks run in validate-only requests only, on the accepted items, with the arguments a handler gets', async () => {
  const bulk: Case = {
    name: '',
    status: 202,
    message: '',
    path: BULK + '?partialAccept=true',
    body: '[{"product":{"sku":"c1","price":"5"}},{"product":{"price":"cheap"}},{"product":{"sku":"c2","name":"x/y"}}]',
  };
  checked.length = 0;
  assert.equal((await sendCase(server, bulk)).status, 202);
  assert.deepEqual(checked, []);
  assert.equal((await sendCase(server, bulk, 'validateOnly=true')).status, 200);
  // As the consumer would hand them over: the price coerced to the generated type.
  assert.deepEqual(checked, [{ product: { sku: 'c1', price: 5 } }, { product: { sku: 'c2', name: 'x/y' } }]);
});
