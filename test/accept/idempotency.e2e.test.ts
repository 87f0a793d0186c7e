/**
 * Idempotency-Key over HTTP: same-key requests arriving together (one commit group) get one bulk
 * and the same answer instead of a failed group; the fingerprint covers the whole request (the
 * query string included); expired keys are deleted by the sweeper.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { idempotencyKeyExpired, startTestServer, type TestServer } from '../support/server.ts';
import { ident } from '../../src/db/pool.ts';
import { sweepIdempotencyKeys } from '../../src/accept/idempotency-sweeper.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer('idempotency-e2e', { idempotencyTtlSeconds: 2 });
});
after(() => server.stop());

const PATH = '/rest/default/async/V1/products/idem';
const BODY = '{"product":{"price":3}}';

async function bulks(): Promise<number> {
  const { rows } = await server.db.pool.query(`SELECT count(*)::int AS n FROM ${ident(server.db.schema)}.bulk`);
  return rows[0].n;
}

test('twelve same-key requests at once: one bulk, every answer the same, none fails', async () => {
  const before = await bulks();
  const answers = await Promise.all(
    Array.from({ length: 12 }, () =>
      server.request('PUT', PATH, { body: BODY, headers: { 'Idempotency-Key': 'together-1' } }),
    ),
  );
  assert.deepEqual(
    answers.map((a) => a.status),
    Array(12).fill(202),
  );
  assert.equal(new Set(answers.map((a) => a.text)).size, 1, 'the same answer for all');
  assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length, 11);
  assert.equal((await bulks()) - before, 1);
});

test('the fingerprint covers the query string: the same key with ?partialAccept=true is a different request', async () => {
  const first = await server.request('PUT', PATH, { body: BODY, headers: { 'Idempotency-Key': 'query-1' } });
  assert.equal(first.status, 202);
  const other = await server.request('PUT', `${PATH}?partialAccept=true`, {
    body: BODY,
    headers: { 'Idempotency-Key': 'query-1' },
  });
  assert.equal(other.status, 422);
  assert.deepEqual(other.json, {
    message: 'The Idempotency-Key "%key" was already used with a different request.',
    parameters: { key: 'query-1' },
  });
});

test('expired keys are deleted by the sweeper; a live one is kept', async () => {
  const s = ident(server.db.schema);
  await server.request('PUT', PATH, { body: BODY, headers: { 'Idempotency-Key': 'old-1' } });
  await idempotencyKeyExpired(server, 'old-1', 2);
  await server.request('PUT', PATH, { body: BODY, headers: { 'Idempotency-Key': 'live-1' } });
  const deleted = await sweepIdempotencyKeys({
    pool: server.db.pool,
    schema: server.db.schema,
    ttlSeconds: 2,
    batchSize: 1,
  });
  assert.ok(deleted >= 1);
  const { rows } = await server.db.pool.query(`SELECT key FROM ${s}.idempotency_key ORDER BY key`);
  assert.deepEqual(
    rows.map((r) => r.key),
    ['live-1'],
  );
});
