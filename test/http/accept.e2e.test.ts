/**
 * The accept path over HTTP against real Postgres: the seeds' examples answer exactly the
 * documented shapes, every applicable row of Magento's failure table (source notes §3.4) gives the
 * documented status and message, and nothing is half-written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ident } from '../../src/db/pool.ts';
import { createStore } from '../../src/store/index.ts';

let server: TestServer;
let s: string;

before(async () => {
  server = await startTestServer('accept-e2e', { maxBulkItems: 5, maxBodyBytes: 4096, maxJsonDepth: 8 });
  s = ident(server.db.schema);
  await createStore(server.db.pool, server.db.schema, { code: 'fr', name: 'French', websiteId: 1 });
});
after(() => server.stop());

async function count(table: string, where = 'true', values: unknown[] = []): Promise<number> {
  const { rows } = await server.db.pool.query(`SELECT count(*)::int AS n FROM ${s}.${table} WHERE ${where}`, values);
  return rows[0].n;
}

async function jobCount(bulkUuid: string): Promise<number> {
  const { rows } = await server.db.pool.query(
    `SELECT count(*)::int AS n FROM ${ident(server.db.bossSchema)}.job WHERE data->>'bulk' = $1`,
    [bulkUuid],
  );
  return rows[0].n;
}

test('PUT price of 24-MB01 in default: 202, Magento body, stored input and data_hash of the worked example', async () => {
  const res = await server.request('PUT', '/rest/default/async/V1/products/24-MB01', {
    body: '{"product":{"price":29}}',
  });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  const uuid = res.json.bulk_uuid as string;
  assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(
    res.text,
    `{"bulk_uuid":"${uuid}","request_items":[{"id":0,"data_hash":"c7f905d336fb96fd73ac8453ce139050998ab2ea77ab9aa9edc695359c501f8f","status":"accepted"}],"errors":false}`,
  );
  const { rows } = await server.db.pool.query(
    `SELECT o.operation_key, o.status, o.topic_name, o.serialized_data, b.description, b.user_type, b.user_id, b.operation_count
     FROM ${s}.operation o JOIN ${s}.bulk b ON b.uuid = o.bulk_uuid WHERE o.bulk_uuid = $1`,
    [uuid],
  );
  assert.deepEqual(rows, [
    {
      operation_key: 0,
      status: 4,
      topic_name: 'async.V1.products.sku.PUT',
      serialized_data:
        '{"entity_id":null,"entity_link":"","meta_information":"{\\"product\\":{\\"price\\":29,\\"sku\\":\\"24-MB01\\"},\\"sku\\":\\"24-MB01\\"}","store_id":"1"}',
      description: 'Topic async.V1.products.sku.PUT',
      user_type: 1,
      user_id: server.tokenId,
      operation_count: 1,
    },
  ]);
  assert.equal(await jobCount(uuid), 1, 'one queue job per operation, committed with it');
});

test('store scopes: `all` stores store_id "0", a custom code its id, no code the default view', async () => {
  for (const [prefix, storeId] of [
    ['/rest/all', '0'],
    ['/rest/fr', '2'],
    ['/rest', '1'],
  ] as const) {
    const res = await server.request('PUT', `${prefix}/async/V1/products/sku-1`, { body: { product: { name: 'x' } } });
    assert.equal(res.status, 202, prefix);
    const { rows } = await server.db.pool.query(`SELECT serialized_data FROM ${s}.operation WHERE bulk_uuid = $1`, [
      res.json.bulk_uuid,
    ]);
    assert.equal(JSON.parse(rows[0].serialized_data).store_id, storeId, prefix);
  }
});

test('the four-customer bulk with a duplicate is accepted whole (the duplicate fails later, in the consumer)', async () => {
  const customer = (email: string) => ({
    customer: { email, firstname: 'John', lastname: 'Doe' },
    password: 'J!Do&007x',
  });
  const res = await server.request('POST', '/rest/default/async/bulk/V1/customers', {
    body: [customer('a@example.com'), customer('b@example.com'), customer('a@example.com'), customer('c@example.com')],
  });
  assert.equal(res.status, 202);
  assert.deepEqual(
    res.json.request_items.map((i: { id: number; status: string }) => [i.id, i.status]),
    [
      [0, 'accepted'],
      [1, 'accepted'],
      [2, 'accepted'],
      [3, 'accepted'],
    ],
  );
  assert.equal(res.json.errors, false);
  assert.equal(await count('operation', 'bulk_uuid = $1', [res.json.bulk_uuid]), 4);
  assert.equal(await jobCount(res.json.bulk_uuid), 4);
});

test('the two-page CMS DELETE bulk: elements carry their own pageId, placeholders are never injected', async () => {
  const res = await server.request('DELETE', '/rest/default/async/bulk/V1/cmsPage/byPageId', {
    body: '[{"pageId":"1"},{"pageId":"2"}]',
  });
  assert.equal(res.status, 202);
  assert.equal(res.json.request_items.length, 2);
  const { rows } = await server.db.pool.query(
    `SELECT operation_key, serialized_data FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
    [res.json.bulk_uuid],
  );
  assert.deepEqual(
    rows.map((r) => JSON.parse(r.serialized_data).meta_information),
    ['{"pageId":"1"}', '{"pageId":"2"}'],
  );
});

test('bulk: non-object elements are skipped and keep their index out of request_items', async () => {
  const res = await server.request('DELETE', '/rest/default/async/bulk/V1/cmsPage/byPageId', {
    body: '[{"pageId":1}, 5, null, {"pageId":4}]',
  });
  assert.equal(res.status, 202);
  assert.deepEqual(
    res.json.request_items.map((i: { id: number }) => i.id),
    [0, 3],
  );
});

test('an empty bulk is accepted with no operations', async () => {
  const res = await server.request('POST', '/rest/default/async/bulk/V1/products', { body: '[]' });
  assert.equal(res.status, 202);
  assert.deepEqual(res.json.request_items, []);
  assert.equal(res.json.errors, false);
});

const failures: {
  name: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  token?: null;
  status: number;
  expected: string;
}[] = [
  {
    name: 'GET on an async route',
    method: 'GET',
    path: '/rest/default/async/V1/products/24-MB01',
    status: 400,
    expected: '{"message":"Specified request cannot be processed."}',
  },
  {
    name: 'GET on a bulk route',
    method: 'GET',
    path: '/rest/default/async/bulk/V1/products/bySku',
    status: 400,
    expected: '{"message":"Specified request cannot be processed."}',
  },
  {
    name: 'PATCH with a spec that has no PATCH operation',
    method: 'PATCH',
    path: '/rest/default/async/V1/products/24-MB01',
    body: '{}',
    status: 405,
    expected: '{"message":"The PATCH HTTP method is not supported."}',
  },
  {
    name: 'unknown store code',
    method: 'POST',
    path: '/rest/xx/async/V1/products',
    body: '{}',
    status: 400,
    expected: '{"message":"Specified request cannot be processed."}',
  },
  {
    name: 'no route',
    method: 'POST',
    path: '/rest/default/async/V1/nothing-here',
    body: '{}',
    status: 404,
    expected: '{"message":"Request does not match any route."}',
  },
  {
    name: 'known method on a path that does not serve it',
    method: 'POST',
    path: '/rest/default/async/V1/products/24-MB01',
    body: '{}',
    status: 404,
    expected: '{"message":"Request does not match any route."}',
  },
  {
    name: 'real value in a bulk URL',
    method: 'PUT',
    path: '/rest/default/async/bulk/V1/products/24-MB01',
    body: '[]',
    status: 404,
    expected: '{"message":"Request does not match any route."}',
  },
  {
    name: 'no token on a protected route',
    method: 'PUT',
    path: '/rest/default/async/V1/products/24-MB01',
    body: '{"product":{"price":29}}',
    token: null,
    status: 401,
    expected:
      '{"message":"The consumer isn\'t authorized to access %resources.","parameters":{"resources":"Magento_Catalog::products"}}',
  },
  {
    name: 'a bad token',
    method: 'PUT',
    path: '/rest/default/async/V1/products/24-MB01',
    body: '{"product":{"price":29}}',
    headers: { Authorization: 'Bearer not-a-token' },
    token: null,
    status: 401,
    expected:
      '{"message":"The consumer isn\'t authorized to access %resources.","parameters":{"resources":"Magento_Catalog::products"}}',
  },
  {
    name: 'body without Content-Type',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '{"product":{"sku":"a"}}',
    headers: { 'Content-Type': '' },
    status: 400,
    expected: '{"message":"Content-Type header is empty."}',
  },
  {
    name: 'malformed Content-Type',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '{"product":{"sku":"a"}}',
    headers: { 'Content-Type': 'application/json;;' },
    status: 400,
    expected: '{"message":"Content-Type header is invalid."}',
  },
  {
    name: 'a charset other than UTF-8',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '{"product":{"sku":"a"}}',
    headers: { 'Content-Type': 'application/json; charset=iso-8859-1' },
    status: 400,
    expected: '{"message":"UTF-8 is the only supported charset."}',
  },
  {
    name: 'a media type other than JSON',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '<product/>',
    headers: { 'Content-Type': 'application/xml' },
    status: 400,
    expected:
      '{"message":"Server cannot understand Content-Type HTTP header media type %1","parameters":["application\\/xml"]}',
  },
  {
    name: 'invalid JSON',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '{"product":',
    status: 400,
    expected: '{"message":"Decoding error."}',
  },
  {
    name: 'missing required argument',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '{"saveOptions":true}',
    status: 400,
    expected: '{"message":"\\"%fieldName\\" is required. Enter and try again.","parameters":{"fieldName":"product"}}',
  },
  {
    name: 'unknown field in a data object',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '{"product":{"sku":"psku-test-3-wrong","wrong_attribute":"simple"}}',
    status: 400,
    expected:
      '{"message":"\\"%fieldName\\" is not supported. Correct the field name and try again.","parameters":{"fieldName":"wrong_attribute"}}',
  },
  {
    name: 'bulk: the failing element is named by index and field',
    method: 'POST',
    path: '/rest/default/async/bulk/V1/products',
    body: '[{"product":{"sku":"a"}},{"product":{"sku":"b"}},{"product":{"sku":"psku-test-3-wrong","wrong_attribute":"simple"}}]',
    status: 400,
    expected:
      '{"message":"\\"%fieldName\\" is not supported. Correct the field name and try again.","parameters":{"fieldName":"wrong_attribute","index":2,"field":"product.wrong_attribute"}}',
  },
  {
    name: 'bulk body that is not a list',
    method: 'POST',
    path: '/rest/default/async/bulk/V1/products',
    body: '{"product":{"sku":"a"}}',
    status: 400,
    expected: '{"message":"Request body must be an array"}',
  },
  {
    name: 'too many items',
    method: 'POST',
    path: '/rest/default/async/bulk/V1/products',
    body: JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ product: { sku: `s${i}` } }))),
    status: 400,
    expected: '{"message":"Maximum items of type \\"%type\\" is %max","parameters":{"type":"PostV1Products","max":5}}',
  },
  {
    name: 'nesting deeper than maxJsonDepth',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: '{"product":{"sku":"a","custom_attributes":' + '['.repeat(10) + ']'.repeat(10) + '}}',
    status: 400,
    expected: '{"message":"The request data is nested deeper than the allowed %max levels.","parameters":{"max":8}}',
  },
  {
    name: 'too large',
    method: 'POST',
    path: '/rest/default/async/V1/products',
    body: JSON.stringify({ product: { sku: 'a', name: 'x'.repeat(5000) } }),
    status: 413,
    expected: '{"message":"The request body is larger than the allowed %max bytes.","parameters":{"max":4096}}',
  },
];

for (const f of failures) {
  test(`failure: ${f.name} → ${f.status}, nothing stored`, async () => {
    const bulksBefore = await count('bulk');
    const res = await server.request(f.method, f.path, {
      body: f.body,
      token: f.token,
      headers: f.headers,
    });
    assert.equal(res.status, f.status);
    assert.equal(res.text, f.expected);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(await count('bulk'), bulksBefore, 'no bulk was written');
  });
}

test('partialAccept: valid elements accepted, invalid ones rejected with the reason, 202 and errors true', async () => {
  const res = await server.request('POST', '/rest/default/async/bulk/V1/products?partialAccept=true', {
    body: '[{"product":{"sku":"ok-1"}},{"product":{"wrong":1}},{"product":{"sku":"ok-2"}}]',
  });
  assert.equal(res.status, 202);
  assert.equal(res.json.errors, true);
  assert.deepEqual(res.json.request_items[1], {
    id: 1,
    data_hash: null,
    status: 'rejected',
    error_message: '"sku" is required. Enter and try again.',
    error_code: 0,
  });
  assert.equal(await count('operation', 'bulk_uuid = $1', [res.json.bulk_uuid]), 2);
  const { rows } = await server.db.pool.query(`SELECT operation_count FROM ${s}.bulk WHERE uuid = $1`, [
    res.json.bulk_uuid,
  ]);
  assert.equal(rows[0].operation_count, 2, 'rejected elements are not counted, as in Magento');
  // The switch is a request option, never part of the stored input.
  const { rows: ops } = await server.db.pool.query(`SELECT serialized_data FROM ${s}.operation WHERE bulk_uuid = $1`, [
    res.json.bulk_uuid,
  ]);
  for (const op of ops) assert.doesNotMatch(op.serialized_data, /partialAccept/);
});

test('__proto__ and constructor keys in input are data, not prototypes', async () => {
  const res = await server.request('POST', '/rest/default/async/V1/customers', {
    body: '{"customer":{"email":"p@example.com","firstname":"A","lastname":"B"},"__proto__":{"admin":true},"constructor":{"x":1}}',
    token: null,
  });
  assert.equal(res.status, 202, res.text);
  const { rows } = await server.db.pool.query(`SELECT serialized_data FROM ${s}.operation WHERE bulk_uuid = $1`, [
    res.json.bulk_uuid,
  ]);
  const meta = JSON.parse(JSON.parse(rows[0].serialized_data).meta_information);
  assert.deepEqual(Object.keys(meta), ['customer', '__proto__', 'constructor']);
  assert.equal(({} as Record<string, unknown>).admin, undefined);
});

test('the async and bulk schema endpoints answer Swagger 2.0 for a Swagger 2.0 spec, showing what the token may call', async () => {
  const operations = (json: { paths: Record<string, Record<string, { operationId: string; responses: object }>> }) =>
    Object.values(json.paths).flatMap((p) => Object.values(p));
  for (const path of [
    '/rest/default/async/schema?services=all',
    '/rest/all/async/schema?services=all',
    '/rest/async/bulk/schema',
  ]) {
    const res = await server.request('GET', path);
    assert.equal(res.status, 200, path);
    assert.equal(res.json.swagger, '2.0');
    assert.ok(res.json.definitions['asynchronous-operations-data-async-response-interface']);
    const ops = operations(res.json);
    assert.equal(ops.length, server.artifacts.routes.length, path);
    for (const op of ops) assert.deepEqual(Object.keys(op.responses), ['200', '202', '401', 'default'], path);

    // Without a token, as Magento: only the operations anyone may call.
    const guest = await server.request('GET', path, { token: null });
    const anonymous = server.artifacts.routes.filter((r) => r.acl.includes('anonymous')).map((r) => r.operationId);
    assert.deepEqual(
      operations(guest.json)
        .map((o) => o.operationId)
        .sort(),
      anonymous.sort(),
      path,
    );
  }
});
