/**
 * Long-poll (`?waitSeconds=N` woken by the database's NOTIFY through one shared LISTEN
 * connection) and results.ndjson streamed in keyset batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { startDriver } from '../support/drive.ts';
import { observedPool } from '../support/observed-pool.ts';
import { waitFor } from '../support/wait.ts';
import { registerWaiter, selectBulkSummary } from '../../src/db/sql/status.ts';
import { bulkFinishedChannel } from '../../src/queue/names.ts';
import { clientFactory, createBulkFinishedListener, type BulkFinishedListener } from '../../src/status/listener.ts';
import { get, signIn, silentLog, startHarness } from './helpers.ts';

const db = await createTestDatabase('status_stream');
// Results batches asked for (to see that the handler streams instead of loading), and per bulk the
// summary reads a long-poll made since it registered as a waiter: after one, it sleeps until woken.
let batchQueries = 0;
const readsWhileWaiting = new Map<string, number>();
const observed = observedPool(db.pool, {
  sent(text) {
    if (text.includes('operation_key > $2')) batchQueries++;
  },
  answered(text, values) {
    const uuid = String(values[0]);
    if (text === registerWaiter(db.schema)) readsWhileWaiting.set(uuid, 0);
    else if (text === selectBulkSummary(db.schema) && readsWhileWaiting.has(uuid))
      readsWhileWaiting.set(uuid, readsWhileWaiting.get(uuid)! + 1);
  },
});
// Results in batches of 100: twenty batches from a bulk of 2,000, as from 20,000 at the default 1,000.
const RESULTS_BATCH = 100;
/**
 * The one LISTEN connection of both harnesses (the real listener), seen from the waiters' side: it
 * counts the wake-ups each bulk's waiters got, and to the waiters of a bulk in `unheard` it
 * delivers none, as when a bulk's last two outcomes commit concurrently and neither transaction
 * sees the other's, so neither notifies.
 */
const wakes = new Map<string, number>();
const unheard = new Set<string>();
const shared = createBulkFinishedListener({
  connect: clientFactory(db.pool),
  channel: bulkFinishedChannel(db.schema),
  log: silentLog,
});
const listener: BulkFinishedListener = {
  subscribe: (uuid, wake) =>
    shared.subscribe(uuid, () => {
      if (unheard.has(uuid)) return;
      wakes.set(uuid, (wakes.get(uuid) ?? 0) + 1);
      wake();
    }),
  close: () => shared.close(),
};
const admin = (await signIn(db.pool, db.schema)).admin;
const h = await startHarness(observed, db.schema, { listener, limits: { resultsBatchSize: RESULTS_BATCH } });
h.as(admin);
// Its long-polls re-read only when woken (the re-read a second is ten minutes here): what ends
// their wait early is the notice, or nothing.
const onlyNotified = await startHarness(observed, db.schema, { listener, limits: { longPollRecheckMs: 600_000 } });
onlyNotified.as(admin);
// Every state below is reached by accepting bulks and running a real consumer; an operation held at
// a gate is one the handler is still working on, so its bulk is open until the test releases it.
const drive = await startDriver(db);
test.after(async () => {
  await drive.close();
  await h.close();
  await onlyNotified.close();
  await shared.close();
  await db.drop();
});

/** Sends a long-poll; resolves once it has read the (open) bulk as a waiter, so it sleeps now. */
async function longPoll(uuid: string, query: string, harness = h): Promise<{ answer: ReturnType<typeof get> }> {
  readsWhileWaiting.delete(uuid);
  const answer = get(harness, `/V1/bulk/${uuid}/status?${query}`);
  await waitFor(() => (readsWhileWaiting.get(uuid) ?? 0) > 0, 15_000, `the long-poll of ${uuid} to wait`);
  return { answer };
}

// The waits below are a minute long; each test's timeout is the failure limit of "answered early".
const EARLY = { timeout: 30_000 };

test('long-poll: returns as soon as another connection finishes the bulk', EARLY, async () => {
  const L = '00000000-0000-4000-8000-0000000000e1';
  await drive.accept({ uuid: L, operations: [{}, { gate: 'L1' }] });
  await drive.reached('L1');
  let released = false;
  const pending = (await longPoll(L, 'waitSeconds=60&operations=false', onlyNotified)).answer.then((res) => ({
    res,
    released,
  }));
  // The last outcome leaves nothing open: the update trigger NOTIFYs at commit, and only that
  // notice can wake this waiter before its minute is up.
  released = true;
  drive.release('L1');
  const { res, released: answeredAfterRelease } = await pending;
  assert.equal(res.status, 200);
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 2);
  assert.ok(answeredAfterRelease, 'answered only after the bulk finished');
  assert.ok((wakes.get(L) ?? 0) >= 1, 'woken by the notice');
});

test(
  'long-poll: two transactions finishing the last operations concurrently (no NOTIFY) still end the wait within a second',
  EARLY,
  async () => {
    const R = '00000000-0000-4000-8000-0000000000e9';
    // Both operations finish together; whatever notice their transactions send, none reaches the
    // waiter (the overlap's effect, forced: see `unheard`). Only the re-read a second ends the wait
    // before its minute: without it, the test's timeout fails it.
    unheard.add(R);
    await drive.accept({ uuid: R, operations: [{ gate: 'R' }, { gate: 'R' }] });
    await drive.reached('R', 2);
    const pending = (await longPoll(R, 'waitSeconds=60&operations=false')).answer;
    drive.release('R');
    await drive.settled(R);
    const res = await pending;
    assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 2);
    assert.equal(wakes.get(R), undefined, 'no wake-up reached the waiter');
  },
);

test(
  'long-poll: a change that leaves work open does not end the wait; time-out answers the current state',
  EARLY,
  async () => {
    const T = '00000000-0000-4000-8000-0000000000e2';
    await drive.accept({ uuid: T, operations: [{ gate: 'T0' }, { gate: 'T1' }] });
    await drive.reached('T0');
    await drive.reached('T1');
    let answered = false;
    const pending = (await longPoll(T, 'waitSeconds=60&operations=false')).answer.then((res) => {
      answered = true;
      return res;
    });
    drive.release('T0');
    await drive.recorded(T, 1);
    // Three more reads after the first outcome was recorded: the second was sent after it and saw
    // it, and the waiter went on to the third.
    const seen = readsWhileWaiting.get(T)!;
    await waitFor(() => readsWhileWaiting.get(T)! >= seen + 3, 15_000, 'the waiter to read the bulk three more times');
    assert.equal(answered, false, 'still waiting while work is open');
    // A wait that runs out answers the state at that time.
    const started = Date.now();
    const timedOut = await get(h, `/V1/bulk/${T}/status?waitSeconds=1&operations=false`);
    assert.equal((JSON.parse(timedOut.text) as { bulk_status: number }).bulk_status, 1);
    assert.ok(Date.now() - started >= 950, 'answered at the end of its second');
    drive.release('T1');
    assert.equal((JSON.parse((await pending).text) as { bulk_status: number }).bulk_status, 2);
  },
);

test('long-poll: a finished bulk answers at once; a client that leaves is cleaned up', EARLY, async () => {
  const F = '00000000-0000-4000-8000-0000000000e3';
  await drive.accept({ uuid: F, operations: [{ fail: 'no' }] });
  await drive.settled(F);
  // Asked to wait a minute, it answers from its first read: it never registered as a waiter.
  readsWhileWaiting.delete(F);
  const res = await get(onlyNotified, `/V1/bulk/${F}/status?waitSeconds=60`);
  assert.equal((JSON.parse(res.text) as { bulk_status: number }).bulk_status, 3);
  assert.equal(readsWhileWaiting.has(F), false, 'it did not wait');

  const O = '00000000-0000-4000-8000-0000000000e4';
  await drive.accept({ uuid: O, operations: [{ gate: 'O' }] });
  await drive.reached('O');
  const abort = new AbortController();
  readsWhileWaiting.delete(O);
  const gone = fetch(`${h.url}/V1/bulk/${O}/status?waitSeconds=30`, {
    signal: abort.signal,
    headers: h.headers(),
  }).catch((e: unknown) => e);
  await waitFor(() => (readsWhileWaiting.get(O) ?? 0) > 0, 15_000, 'the long-poll to wait');
  abort.abort();
  assert.ok((await gone) instanceof Error);
  // The server is still fine and wakes later waiters of the same bulk.
  const again = (await longPoll(O, 'waitSeconds=60&operations=false', onlyNotified)).answer;
  drive.release('O');
  assert.equal((JSON.parse((await again).text) as { bulk_status: number }).bulk_status, 2);
  // Many waiters, one LISTEN connection.
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'magento-async:status-listener' AND query ILIKE 'LISTEN%${db.schema}%'`,
  );
  assert.equal(rows[0]!.n, 1);
});

test('results.ndjson: one line per operation in index order, streamed in batches', async () => {
  const N = 20 * RESULTS_BATCH;
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
  const res = await fetch(`${h.url}/V1/bulk/${BIG}/results.ndjson`, { headers: h.headers() });
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
  assert.equal(batchQueries, N / RESULTS_BATCH + 1);
  const lines = text.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, N);
  assert.equal(lines[0], '{"id":0,"status":1,"result":{"sku":"sku-0","n":0},"error":null}');
  assert.equal(lines[1], '{"id":1,"status":3,"result":null,"error":{"message":"bad \\"input\\"","code":22}}');
  assert.ok(lines.every((l, i) => (JSON.parse(l) as { id: number }).id === i));
});
