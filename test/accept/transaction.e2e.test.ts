/**
 * The accept transaction is all or nothing (CONTRACT §2), and Idempotency-Key replays the first
 * response without writing anything.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { idempotencyKeyExpired, startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';
import { ident } from '../../src/db/pool.ts';

let server: TestServer;
let failNext: 'throw' | null = null;

before(async () => {
  server = await startTestServer(
    'accept-tx',
    { idempotencyTtlSeconds: 2 },
    {
      // Fault injected after every write of the accept transaction, before its commit.
      beforeCommit: async () => {
        if (failNext === 'throw') {
          failNext = null;
          throw new Error('injected fault: connection lost before the jobs were written');
        }
      },
    },
  );
});
after(() => server.stop());

async function counts(): Promise<{ bulks: number; operations: number; jobs: number }> {
  const s = ident(server.db.schema);
  const { rows } = await server.db.pool.query(
    `SELECT (SELECT count(*)::int FROM ${s}.bulk) AS bulks, (SELECT count(*)::int FROM ${s}.operation) AS operations,
            (SELECT count(*)::int FROM ${ident(server.db.bossSchema)}.job WHERE name LIKE 'async.%') AS jobs`,
  );
  return rows[0];
}

test('a fault after every write of the accept transaction, before its commit, leaves no bulk, no operation and no job', async () => {
  const before = await counts();
  failNext = 'throw';
  const res = await server.request('POST', '/rest/default/async/bulk/V1/products', {
    body: [{ product: { sku: 'a' } }, { product: { sku: 'b' } }],
  });
  assert.equal(res.status, 500);
  assert.match(
    res.json.message,
    /^Internal Error\. Details are available in the log file\. Report ID: webapi-[0-9a-f]{16}$/,
  );
  assert.doesNotMatch(res.text, /injected|connection|Error:|at /, 'no cause, stack or SQL reaches the client');
  assert.deepEqual(await counts(), before);
});

test('a killed database session mid-transaction leaves nothing behind either', async () => {
  const before = await counts();
  // Terminate the backend that is inside the accept transaction, from another connection.
  const s = server.db.schema;
  const killer = new pg.Client({ connectionString: server.db.url });
  await killer.connect();
  let killed = 0;
  let answered = false;
  // Looks for such a backend until one is killed or every request has its answer.
  const killing = waitFor(
    async () => {
      const { rows } = await killer.query(
        `SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity
         WHERE query LIKE $1 AND state <> 'idle' AND pid <> pg_backend_pid()`,
        [`%${s}%.operation%`],
      );
      killed += rows.filter((r) => r.k).length;
      return killed > 0 || answered;
    },
    120_000,
    'a backend inside an accept transaction',
    2,
  );
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      server.request('POST', '/rest/default/async/bulk/V1/products', {
        body: Array.from({ length: 500 }, (_, k) => ({ product: { sku: `kill-${i}-${k}` } })),
      }),
    ),
  );
  answered = true;
  await killing;
  await killer.end();
  assert.ok(killed > 0, 'a transaction was killed mid-way');
  const after = await counts();
  const accepted = results.filter((r) => r.status === 202);
  for (const r of results) assert.ok(r.status === 202 || r.status === 500, `status ${r.status}`);
  // Every accepted request is complete (500 rows and 500 jobs); every failed one left nothing.
  assert.equal(after.bulks - before.bulks, accepted.length);
  assert.equal(after.operations - before.operations, accepted.length * 500);
  assert.equal(after.jobs - before.jobs, accepted.length * 500);
});

test('Idempotency-Key: a repeat with the same body returns the first response and writes nothing', async () => {
  const body = { product: { sku: 'idem-1', price: 10 } };
  const headers = { 'Idempotency-Key': 'order-4711' };
  const first = await server.request('PUT', '/rest/default/async/V1/products/idem-1', { body, headers });
  assert.equal(first.status, 202);
  const before = await counts();
  const again = await server.request('PUT', '/rest/default/async/V1/products/idem-1', { body, headers });
  assert.equal(again.status, 202);
  assert.equal(again.text, first.text, 'same bulk_uuid, same bytes');
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(await counts(), before);
});

test('Idempotency-Key: the same key with a different body is 422 and writes nothing', async () => {
  const headers = { 'Idempotency-Key': 'order-4712' };
  await server.request('PUT', '/rest/default/async/V1/products/idem-2', { body: { product: { price: 1 } }, headers });
  const before = await counts();
  const res = await server.request('PUT', '/rest/default/async/V1/products/idem-2', {
    body: { product: { price: 2 } },
    headers,
  });
  assert.equal(res.status, 422);
  assert.equal(
    res.text,
    '{"message":"The Idempotency-Key \\"%key\\" was already used with a different request.","parameters":{"key":"order-4712"}}',
  );
  assert.deepEqual(await counts(), before);
});

test('Idempotency-Key: concurrent repeats commit once and all answer the same bulk', async () => {
  const headers = { 'Idempotency-Key': 'burst-1' };
  const before = await counts();
  const results = await Promise.all(
    Array.from({ length: 8 }, () =>
      server.request('POST', '/rest/default/async/V1/products', { body: { product: { sku: 'burst' } }, headers }),
    ),
  );
  assert.ok(results.every((r) => r.status === 202));
  assert.equal(new Set(results.map((r) => r.json.bulk_uuid)).size, 1);
  const after = await counts();
  assert.equal(after.bulks - before.bulks, 1);
});

test('Idempotency-Key: keys are per caller and expire after the configured time', async () => {
  const headers = { 'Idempotency-Key': 'shared-key' };
  const a = await server.request('POST', '/rest/default/async/V1/customers', {
    body: { customer: { email: 'i1@example.com', firstname: 'A', lastname: 'B' } },
    headers,
  });
  const b = await server.request('POST', '/rest/default/async/V1/customers', {
    body: { customer: { email: 'i2@example.com', firstname: 'A', lastname: 'B' } },
    headers,
    token: null,
  });
  assert.equal(a.status, 202);
  assert.equal(b.status, 202, 'a guest using the same key is another caller');
  assert.notEqual(a.json.bulk_uuid, b.json.bulk_uuid);
  await idempotencyKeyExpired(server, 'shared-key', 2);
  const c = await server.request('POST', '/rest/default/async/V1/customers', {
    body: { customer: { email: 'i3@example.com', firstname: 'A', lastname: 'B' } },
    headers,
  });
  assert.equal(c.status, 202, 'an expired key is free again');
  assert.notEqual(c.json.bulk_uuid, a.json.bulk_uuid);
});

test('Idempotency-Key: an invalid key is 400', async () => {
  const res = await server.request('POST', '/rest/default/async/V1/products', {
    body: { product: { sku: 'x' } },
    headers: { 'Idempotency-Key': 'has space' },
  });
  assert.equal(res.status, 400);
  assert.equal(res.json.message, 'The Idempotency-Key header is invalid: %reason');
});
