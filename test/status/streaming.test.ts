/**
 * Long-poll (`?waitSeconds=N` woken by the database's NOTIFY through one shared LISTEN
 * connection) and results.ndjson streamed in keyset batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createTestDatabase } from '../support/db.ts';
import { ident } from '../../src/db/pool.ts';
import { ADMIN, get, insertBulk, insertLargeBulk, startHarness } from './helpers.ts';

const db = await createTestDatabase('status_stream');
let batchQueries = 0;
// Counts the results batches the handler asks for, to see that it streams instead of loading.
const countingPool = new Proxy(db.pool, {
  get(target, prop, receiver) {
    if (prop === 'query') {
      return (text: string, values?: unknown[]) => {
        if (text.includes('operation_key > $2')) batchQueries++;
        return target.query(text, values);
      };
    }
    const v = Reflect.get(target, prop, receiver) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  },
}) as pg.Pool;
const h = await startHarness(countingPool, db.schema);
h.as(ADMIN);
test.after(async () => {
  await h.close();
  await db.drop();
});
const s = ident(db.schema);

test('long-poll: returns as soon as another connection finishes the bulk', async () => {
  const L = '00000000-0000-4000-8000-0000000000e1';
  await insertBulk(db.pool, db.schema, { uuid: L, userType: 2, userId: 1, operationCount: 2 }, [
    { key: 0, status: 1 },
    { key: 1, status: 4 },
  ]);
  const started = Date.now();
  const pending = get(h, `/V1/bulk/${L}/status?waitSeconds=10&operations=false`);
  await new Promise((r) => setTimeout(r, 400));
  // A status change that leaves nothing open: the update trigger NOTIFYs at commit.
  await db.pool.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1 AND operation_key = 1`, [L]);
  const res = await pending;
  const elapsed = Date.now() - started;
  assert.equal(res.status, 200);
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 2);
  assert.ok(elapsed >= 350 && elapsed < 3000, `answered after ${elapsed} ms`);
});

test('long-poll: two transactions finishing the last operations concurrently (no NOTIFY) still end the wait within a second', async () => {
  const R = '00000000-0000-4000-8000-0000000000e9';
  await insertBulk(db.pool, db.schema, { uuid: R, userType: 2, userId: 1, operationCount: 2 }, [
    { key: 0, status: 4 },
    { key: 1, status: 4 },
  ]);
  const pending = get(h, `/V1/bulk/${R}/status?waitSeconds=10&operations=false`);
  await new Promise((r) => setTimeout(r, 200));
  // Each transaction's trigger sees the other's operation still open, so neither sends the notice.
  const [a, b] = [await db.pool.connect(), await db.pool.connect()];
  try {
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1 AND operation_key = 0`, [R]);
    // Not awaited before a commits: when both backends map to the same counter shard (pid % 8), b's
    // counter update waits for a's row lock, and awaiting it first would wait forever.
    const bUpdated = b.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1 AND operation_key = 1`, [R]);
    await new Promise((r) => setTimeout(r, 50));
    await a.query('COMMIT');
    await bUpdated;
    await b.query('COMMIT');
  } finally {
    a.release();
    b.release();
  }
  const committed = Date.now();
  const res = await pending;
  const elapsed = Date.now() - committed;
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 2);
  assert.ok(elapsed < 1500, `answered ${elapsed} ms after the commits`);
});

test('long-poll: a change that leaves work open does not end the wait; time-out answers the current state', async () => {
  const T = '00000000-0000-4000-8000-0000000000e2';
  await insertBulk(db.pool, db.schema, { uuid: T, userType: 2, userId: 1, operationCount: 2 }, [
    { key: 0, status: 4 },
    { key: 1, status: 4 },
  ]);
  const started = Date.now();
  const pending = get(h, `/V1/bulk/${T}/status?waitSeconds=1&operations=false`);
  await new Promise((r) => setTimeout(r, 200));
  await db.pool.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1 AND operation_key = 0`, [T]);
  const res = await pending;
  const elapsed = Date.now() - started;
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 1);
  assert.ok(elapsed >= 950 && elapsed < 2500, `answered after ${elapsed} ms`);
});

test('long-poll: a finished bulk answers at once; a client that leaves is cleaned up', async () => {
  const F = '00000000-0000-4000-8000-0000000000e3';
  await insertBulk(db.pool, db.schema, { uuid: F, userType: 2, userId: 1, operationCount: 1 }, [{ key: 0, status: 3 }]);
  const started = Date.now();
  const res = await get(h, `/V1/bulk/${F}/status?waitSeconds=30`);
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 3);
  assert.ok(Date.now() - started < 1000);

  const O = '00000000-0000-4000-8000-0000000000e4';
  await insertBulk(db.pool, db.schema, { uuid: O, userType: 2, userId: 1, operationCount: 1 }, [{ key: 0, status: 4 }]);
  const abort = new AbortController();
  const gone = fetch(`${h.url}/V1/bulk/${O}/status?waitSeconds=30`, { signal: abort.signal }).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 200));
  abort.abort();
  assert.ok((await gone) instanceof Error);
  // The server is still fine and wakes later waiters of the same bulk.
  const again = get(h, `/V1/bulk/${O}/status?waitSeconds=10&operations=false`);
  await new Promise((r) => setTimeout(r, 200));
  await db.pool.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1`, [O]);
  assert.equal((JSON.parse((await again).text) as { bulk_status: number }).bulk_status, 2);
  // Many waiters, one LISTEN connection.
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'magento-async:status-listener' AND query ILIKE 'LISTEN%${db.schema}%'`,
  );
  assert.equal(rows[0]!.n, 1);
});

test('results.ndjson: one line per operation in index order, streamed in batches', async () => {
  const N = 20_000;
  const BIG = '00000000-0000-4000-8000-0000000000f1';
  await insertLargeBulk(db.pool, db.schema, BIG, N);
  await db.pool.query(
    `UPDATE ${s}.operation SET status = 3, error_code = 22, result_message = 'bad "input"', result_serialized_data = NULL
     WHERE bulk_uuid = $1 AND operation_key = 1`,
    [BIG],
  );
  batchQueries = 0;
  const res = await fetch(`${h.url}/V1/bulk/${BIG}/results.ndjson`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let batchesAtFirstChunk = -1;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (batchesAtFirstChunk < 0) batchesAtFirstChunk = batchQueries;
    text += decoder.decode(value, { stream: true });
  }
  // The first bytes arrived while most of the 20 batches were still unread.
  assert.ok(
    batchesAtFirstChunk >= 1 && batchesAtFirstChunk <= 4,
    `batches read before the first chunk: ${batchesAtFirstChunk}`,
  );
  assert.equal(batchQueries, N / 1000 + 1);
  const lines = text.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, N);
  assert.equal(lines[0], '{"id":0,"status":1,"result":{"sku":"sku-0","n":0},"error":null}');
  assert.equal(lines[1], '{"id":1,"status":3,"result":null,"error":{"message":"bad \\"input\\"","code":22}}');
  assert.ok(lines.every((l, i) => (JSON.parse(l) as { id: number }).id === i));
});
