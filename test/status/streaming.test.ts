/**
 * Long-poll (`?waitSeconds=N` woken by the database's NOTIFY through one shared LISTEN
 * connection) and results.ndjson streamed in keyset batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createTestDatabase } from '../support/db.ts';
import { startDriver } from '../support/drive.ts';
import { ADMIN, get, startHarness } from './helpers.ts';

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
// Every state below is reached by accepting bulks and running a real consumer; an operation held at
// a gate is one the handler is still working on, so its bulk is open until the test releases it.
const drive = await startDriver(db);
test.after(async () => {
  await drive.close();
  await h.close();
  await db.drop();
});

test('long-poll: returns as soon as another connection finishes the bulk', async () => {
  const L = '00000000-0000-4000-8000-0000000000e1';
  await drive.accept({ uuid: L, operations: [{}, { gate: 'L1' }] });
  await drive.reached('L1');
  const started = Date.now();
  const pending = get(h, `/V1/bulk/${L}/status?waitSeconds=10&operations=false`);
  await new Promise((r) => setTimeout(r, 400));
  // The last outcome leaves nothing open: the update trigger NOTIFYs at commit.
  drive.release('L1');
  const res = await pending;
  const elapsed = Date.now() - started;
  assert.equal(res.status, 200);
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 2);
  assert.ok(elapsed >= 350 && elapsed < 3000, `answered after ${elapsed} ms`);
});

test('long-poll: two transactions finishing the last operations concurrently (no NOTIFY) still end the wait within a second', async () => {
  const R = '00000000-0000-4000-8000-0000000000e9';
  await drive.accept({ uuid: R, operations: [{ gate: 'R' }, { gate: 'R' }] });
  await drive.reached('R', 2);
  const pending = get(h, `/V1/bulk/${R}/status?waitSeconds=10&operations=false`);
  await new Promise((r) => setTimeout(r, 200));
  // Two workers record the last two outcomes at once: when their transactions overlap, each
  // trigger sees the other's operation still open and neither sends the notice.
  drive.release('R');
  await drive.settled(R);
  const committed = Date.now();
  const res = await pending;
  const elapsed = Date.now() - committed;
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 2);
  assert.ok(elapsed < 1500, `answered ${elapsed} ms after the commits`);
});

test('long-poll: a change that leaves work open does not end the wait; time-out answers the current state', async () => {
  const T = '00000000-0000-4000-8000-0000000000e2';
  await drive.accept({ uuid: T, operations: [{ gate: 'T0' }, { gate: 'T1' }] });
  await drive.reached('T0');
  await drive.reached('T1');
  const started = Date.now();
  const pending = get(h, `/V1/bulk/${T}/status?waitSeconds=1&operations=false`);
  await new Promise((r) => setTimeout(r, 200));
  drive.release('T0');
  const res = await pending;
  const elapsed = Date.now() - started;
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 1);
  assert.ok(elapsed >= 950 && elapsed < 2500, `answered after ${elapsed} ms`);
});

test('long-poll: a finished bulk answers at once; a client that leaves is cleaned up', async () => {
  const F = '00000000-0000-4000-8000-0000000000e3';
  await drive.accept({ uuid: F, operations: [{ fail: 'no' }] });
  await drive.settled(F);
  const started = Date.now();
  const res = await get(h, `/V1/bulk/${F}/status?waitSeconds=30`);
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 3);
  assert.ok(Date.now() - started < 1000);

  const O = '00000000-0000-4000-8000-0000000000e4';
  await drive.accept({ uuid: O, operations: [{ gate: 'O' }] });
  const abort = new AbortController();
  const gone = fetch(`${h.url}/V1/bulk/${O}/status?waitSeconds=30`, { signal: abort.signal }).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 200));
  abort.abort();
  assert.ok((await gone) instanceof Error);
  // The server is still fine and wakes later waiters of the same bulk.
  const again = get(h, `/V1/bulk/${O}/status?waitSeconds=10&operations=false`);
  await new Promise((r) => setTimeout(r, 200));
  drive.release('O');
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
  const big = await startDriver(db, { entity: 'big', batchSize: 500 });
  try {
    await big.accept({
      uuid: BIG,
      operations: Array.from({ length: N }, (_, k) =>
        k === 1 ? { fail: 'bad "input"', code: 22 } : { ok: { sku: `sku-${k}`, n: k } },
      ),
    });
    await big.settled(BIG, 120_000);
  } finally {
    await big.close();
  }
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
