/**
 * A corpus of malformed and hostile requests against the real server: every case of issue 12 and
 * families generated around them (every truncation of a body, every control character, invalid
 * UTF-8 forms, nesting around PHP's 512 levels, hostile headers). Each answer must have its
 * documented status and Magento-format body, carry nothing internal, and leave the bulk, operation,
 * job and idempotency tables exactly as they were.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ident } from '../../src/db/pool.ts';
import { cases, sendCase, BULK, PRODUCTS, CORPUS_LIMITS, type Case } from './hostile-corpus.cases.ts';

let server: TestServer;

before(async () => {
  server = await startTestServer('hostile-corpus', CORPUS_LIMITS);
});
after(() => server.stop());

async function counts(): Promise<{ bulk: number; operation: number; idempotency: number; job: number }> {
  const s = ident(server.db.schema);
  const { rows } = await server.db.pool.query(
    `SELECT (SELECT count(*)::int FROM ${s}.bulk) AS bulk, (SELECT count(*)::int FROM ${s}.operation) AS operation,
       (SELECT count(*)::int FROM ${s}.idempotency_key) AS idempotency,
       (SELECT count(*)::int FROM ${ident(server.db.bossSchema)}.job) AS job`,
  );
  return rows[0];
}

function send(c: Case) {
  return sendCase(server, c);
}

test(`the corpus holds hundreds of cases (${cases.length})`, () => {
  assert.ok(cases.length >= 200, `${cases.length} cases`);
});

for (const c of cases) {
  test(`${c.name} → ${c.status}, nothing written`, async () => {
    const before = await counts();
    const res = await send(c);
    assert.equal(res.status, c.status, res.text);
    if (c.method !== 'HEAD') {
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      const expected: Record<string, unknown> = { message: c.message };
      if (c.parameters !== undefined) expected.parameters = c.parameters;
      assert.deepEqual(JSON.parse(res.text), expected);
    }
    assert.doesNotMatch(res.text, /\bat \w+ \(|node:|\.ts\b|SELECT|INSERT|Error:/);
    assert.deepEqual(await counts(), before);
  });
}

test('1e400 is an item rejected with Magento’s serialization message: 202, errors true, no operation', async () => {
  const before = await counts();
  const res = await send({ name: '', body: '{"product":{"sku":"a","price":1e400}}', status: 202, message: '' });
  assert.equal(res.status, 202);
  const body = JSON.parse(res.text);
  assert.deepEqual(body.request_items, [
    {
      id: 0,
      data_hash: null,
      status: 'rejected',
      error_message: 'Unable to serialize value. Error: Inf and NaN cannot be JSON encoded',
      error_code: 0,
    },
  ]);
  assert.equal(body.errors, true);
  const after = await counts();
  assert.equal(after.operation, before.operation);
  assert.equal(after.job, before.job);
});

test('a bulk with -1e400 in one element: that element rejected, its siblings accepted and queued', async () => {
  const before = await counts();
  const res = await send({
    name: '',
    path: BULK,
    body: '[{"product":{"sku":"a"}},{"product":{"sku":"b","price":-1e400}},{"product":{"sku":"c"}}]',
    status: 202,
    message: '',
  });
  assert.equal(res.status, 202);
  const body = JSON.parse(res.text);
  assert.deepEqual(
    body.request_items.map((i: { id: number; status: string }) => [i.id, i.status]),
    [
      [0, 'accepted'],
      [1, 'rejected'],
      [2, 'accepted'],
    ],
  );
  const after = await counts();
  assert.equal(after.operation - before.operation, 2);
  assert.equal(after.job - before.job, 2);
});

test('PUT with SKU beside the path’s sku: accepted, filterInputData keeps SKU (Magento’s save() has no sku argument)', async () => {
  const res = await send({
    name: '',
    method: 'PUT',
    path: '/rest/default/async/V1/products/abc',
    body: '{"SKU":1,"product":{"sku":"abc"}}',
    status: 202,
    message: '',
  });
  assert.equal(res.status, 202, res.text);
  const uuid = JSON.parse(res.text).bulk_uuid;
  const { rows } = await server.db.pool.query(
    `SELECT serialized_data FROM ${ident(server.db.schema)}.operation WHERE bulk_uuid = $1`,
    [uuid],
  );
  assert.equal(JSON.parse(rows[0].serialized_data).meta_information, '{"SKU":1,"product":{"sku":"abc"}}');
});

test('bulk bodies PHP casts to a list are accepted: scalars skipped, integer keys renumbered', async () => {
  for (const [body, ids] of [
    ['"text"', []],
    ['1', []],
    ['null', []],
    ['0', []],
    ['{"5":{"product":{"sku":"a"}},"7":3}', [0]],
  ] as const) {
    const res = await send({ name: '', path: BULK, body, status: 202, message: '' });
    assert.equal(res.status, 202, `${body}: ${res.text}`);
    assert.deepEqual(
      JSON.parse(res.text).request_items.map((i: { id: number }) => i.id),
      ids,
      body,
    );
  }
});

test('custom_attributes {} is PHP’s empty array: accepted', async () => {
  const res = await send({
    name: '',
    body: '{"product":{"sku":"a","custom_attributes":{}}}',
    status: 202,
    message: '',
  });
  assert.equal(res.status, 202, res.text);
});

/** Raw HTTP over a socket: what fetch would refuse to send. */
function raw(request: string | Buffer): Promise<string> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let out = '';
    socket.on('data', (c) => (out += c.toString('latin1')));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.end(request);
  });
}

test('a 100 KB Authorization header is answered 431 in Magento’s format, not a reset', async () => {
  const before = await counts();
  const answer = await raw(
    `POST ${PRODUCTS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(100 * 1024)}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
  );
  assert.match(answer, /^HTTP\/1\.1 431 /);
  assert.ok(answer.endsWith('{"message":"The request header fields are too large."}'), answer);
  assert.deepEqual(await counts(), before);
});

test('malformed HTTP is answered 400 in Magento’s format', async () => {
  const answer = await raw('NOT HTTP AT ALL\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.ok(answer.endsWith('{"message":"The HTTP request is malformed."}'), answer);
});
