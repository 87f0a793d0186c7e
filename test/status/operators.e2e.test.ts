/**
 * The status API's operator endpoints (the dashboard's data): GET /V1/bulks with its filters,
 * GET /V1/queues and GET /V1/bulk/:uuid/webhook, under the same ACL as the Magento endpoints:
 * the bulk-operations resource sees everything, any other integration only its own bulks, and
 * the queues (everyone's work) need the resource. Retry and cancel change a bulk: its owner may,
 * anyone else only with the manage-all resource.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { CART_BULK_PATH, cartItems, startCartConsumer, type CartConsumer } from '../support/cart-consumer.ts';
import { createIntegrationToken } from '../../src/auth/index.ts';
import { BULK_OPERATIONS_RESOURCE } from '../../src/status/access.ts';
import { waitFor } from '../support/wait.ts';

/** Spelled out: the ACL id is part of the contract (docs/authentication.md). */
const BULK_MANAGE_ALL_RESOURCE = 'MagentoAsync::bulk_operations_manage_all';

let server: TestServer;
let cart: CartConsumer;
let operator: string;
let clerk: { token: string; id: number };
let other: string;
const uuids = {} as { clean: string; failed: string; others: string; open: string };

async function accept(token: string, skus: string[]): Promise<string> {
  const res = await server.request('POST', CART_BULK_PATH, { body: cartItems(skus), token });
  assert.equal(res.status, 202, res.text);
  return res.json.bulk_uuid;
}

async function finished(uuid: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const res = await server.request('GET', `/rest/V1/bulk/${uuid}/status?operations=false&waitSeconds=5`);
    if (res.json.bulk_status >= 2) return;
  }
  assert.fail(`${uuid} did not finish`);
}

before(async () => {
  server = await startTestServer('status-operators');
  cart = await startCartConsumer(server, { delayMs: 0, failing: true });
  const pool = server.db.pool;
  const schema = server.db.schema;
  operator = (
    await createIntegrationToken(pool, schema, {
      name: 'operator',
      resources: [BULK_OPERATIONS_RESOURCE, 'Magento_Cart::manage'],
    })
  ).token;
  clerk = await createIntegrationToken(pool, schema, { name: 'clerk', resources: ['Magento_Cart::manage'] });
  other = (await createIntegrationToken(pool, schema, { name: 'other', resources: ['Magento_Cart::manage'] })).token;
  uuids.clean = await accept(clerk.token, ['a', 'b']);
  uuids.failed = await accept(clerk.token, ['c', 'fail-1']);
  uuids.others = await accept(other, ['d']);
  for (const u of Object.values(uuids)) await finished(u);
  await cart.stop();
  // Left open: no consumer runs any more.
  uuids.open = await accept(operator, ['e', 'f', 'g']);
});
after(async () => {
  await server?.stop();
});

const list = async (query: string, token = operator) => {
  const res = await server.request('GET', `/rest/V1/bulks${query}`, { token });
  return res;
};
const ids = (res: { json: { items: { bulk_id: string }[] } }) => res.json.items.map((b) => b.bulk_id);

test('GET /V1/bulks: newest first with the status API summary, filtered by status, user, date and text', async () => {
  const all = await list('');
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(ids(all).slice(0, 4), [uuids.open, uuids.others, uuids.failed, uuids.clean]);
  const failed = all.json.items.find((b: { bulk_id: string }) => b.bulk_id === uuids.failed);
  const status = await server.request('GET', `/rest/V1/bulk/${uuids.failed}/status?operations=false`);
  for (const key of ['description', 'user_type', 'user_id', 'start_time', 'operation_count', 'bulk_status']) {
    assert.deepEqual(failed[key], status.json[key], key);
  }
  assert.deepEqual(failed.operation_counts, status.json.operation_counts);

  const today = new Date().toISOString().slice(0, 10);
  const cases: { query: string; expected: string[] }[] = [
    { query: '?status=3', expected: [uuids.failed] },
    { query: '?status=2', expected: [uuids.others, uuids.clean] },
    { query: '?status=0,1', expected: [uuids.open] },
    { query: `?user_type=1&user_id=${clerk.id}`, expected: [uuids.failed, uuids.clean] },
    { query: `?q=${uuids.others.slice(0, 8)}`, expected: [uuids.others] },
    { query: '?q=CARTS.QUOTEID&status=3', expected: [uuids.failed] },
    { query: `?from=${today}&status=3`, expected: [uuids.failed] },
    { query: `?to=${today}`, expected: [] },
    { query: '?pageSize=2&page=2', expected: [uuids.failed, uuids.clean] },
  ];
  for (const c of cases) {
    const res = await list(c.query);
    assert.equal(res.status, 200, `${c.query}: ${res.text}`);
    assert.deepEqual(ids(res), c.expected, c.query);
  }
});

test('GET /V1/bulks: bad filters are Magento-format 400s', async () => {
  const cases: { query: string; message: string; parameters: unknown }[] = [
    {
      query: '?status=7',
      message: 'Invalid value of "%value" provided for the %fieldName field.',
      parameters: { value: '7', fieldName: 'status' },
    },
    {
      query: '?from=yesterday',
      message: 'Invalid value of "%value" provided for the %fieldName field.',
      parameters: { value: 'yesterday', fieldName: 'from' },
    },
    {
      query: '?pageSize=100000',
      message: 'Invalid value of "%value" provided for the %fieldName field.',
      parameters: { value: '100000', fieldName: 'pageSize' },
    },
    {
      query: '?sort=x',
      message: '"%fieldName" is not supported. Correct the field name and try again.',
      parameters: { fieldName: 'sort' },
    },
  ];
  for (const c of cases) {
    const res = await list(c.query);
    assert.equal(res.status, 400, c.query);
    assert.deepEqual(res.json, { message: c.message, parameters: c.parameters }, c.query);
  }
});

test('without the bulk-operations resource: own bulks only, whatever the filter; no queues; no foreign webhook', async () => {
  const mine = await list(`?user_id=999`, clerk.token);
  assert.deepEqual(ids(mine), [uuids.failed, uuids.clean], 'the user filter cannot widen the view');
  const queues = await server.request('GET', '/rest/V1/queues', { token: clerk.token });
  assert.equal(queues.status, 401);
  assert.deepEqual(queues.json, {
    message: "The consumer isn't authorized to access %resources.",
    parameters: { resources: BULK_OPERATIONS_RESOURCE },
  });
  const foreign = await server.request('GET', `/rest/V1/bulk/${uuids.others}/webhook`, { token: clerk.token });
  assert.equal(foreign.status, 401);
  const own = await server.request('GET', `/rest/V1/bulk/${uuids.clean}/webhook`, { token: clerk.token });
  assert.equal(own.status, 200);
  assert.equal(own.json, null, 'no webhook was asked for');
  const guest = await server.request('GET', '/rest/V1/bulks', { token: null });
  assert.equal(guest.status, 401);
});

test('GET /V1/queues: open jobs per queue against the job table, and no consumer alive after it stopped', async () => {
  const res = await server.request('GET', '/rest/V1/queues', { token: operator });
  assert.equal(res.status, 200, res.text);
  const carts = res.json.queues.find((q: { queue: string }) => q.queue === 'async.carts');
  assert.deepEqual(
    { queued: carts.queued, active: carts.active, retry: carts.retry },
    { queued: 3, active: 0, retry: 0 },
  );
  assert.ok(carts.oldest_seconds >= 0);
  assert.equal(
    res.json.consumers.filter((c: { alive: boolean }) => c.alive).length,
    0,
    'the stopped consumer removed its heartbeat',
  );
});

/** Reads server-sent events until `enough(events)` or the time is up; then closes the stream. */
async function readEvents(path: string, token: string, enough: (events: any[]) => boolean): Promise<any[]> {
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(10_000)]);
  const res = await fetch(server.url + path, {
    headers: { Authorization: `Bearer ${token}` },
    signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: any[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith('data: ')) events.push(JSON.parse(frame.slice(6)));
      }
      if (enough(events)) break;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    controller.abort();
  }
  return events;
}

test('GET /V1/bulks/stream and /V1/bulk/:uuid/stream: the list answer first, then each change, same access', async () => {
  let added: string | undefined;
  const events = await readEvents('/rest/V1/bulks/stream?status=0,1', operator, (seen) => {
    if (seen.length === 1 && !added) {
      void accept(operator, ['h']).then((u) => (added = u));
    }
    return seen.length >= 2;
  });
  // The first event is the list as GET /V1/bulks answered it before the new bulk came in.
  assert.equal(events[0].total_count, 1);
  assert.equal(events[0].items[0].bulk_id, uuids.open);
  const now = await list('?status=0,1');
  assert.deepEqual(events[1], now.json, 'the second event is the list as it is now');
  assert.deepEqual(
    events[1].items.map((b: { bulk_id: string }) => b.bulk_id),
    [added, uuids.open],
  );

  const one = await readEvents(`/rest/V1/bulk/${uuids.failed}/stream`, clerk.token, (seen) => seen.length >= 1);
  const status = await server.request('GET', `/rest/V1/bulk/${uuids.failed}/status?operations=false`);
  assert.equal(one[0].bulk_id, uuids.failed);
  assert.deepEqual(one[0].operation_counts, status.json.operation_counts);
  const foreign = await fetch(`${server.url}/rest/V1/bulk/${uuids.others}/stream`, {
    headers: { Authorization: `Bearer ${clerk.token}` },
  });
  assert.equal(foreign.status, 401);
  await foreign.text();
});

test("retry and cancel: the owner's own bulks; another caller's only with the manage-all resource, not the read one", async () => {
  const counts = async () =>
    (await server.request('GET', `/rest/V1/bulk/${uuids.failed}/status?operations=false`)).json.operation_counts;
  const before = await counts();
  const refused = {
    message: "The consumer isn't authorized to access %resources.",
    parameters: { resources: BULK_MANAGE_ALL_RESOURCE },
  };
  // The operator reads every bulk; that does not let it change the clerk's.
  for (const action of ['retry', 'cancel']) {
    const res = await server.request('POST', `/rest/V1/bulk/${uuids.failed}/${action}`, { token: operator, body: {} });
    assert.equal(res.status, 401, action);
    assert.deepEqual(res.json, refused, action);
  }
  assert.deepEqual(await counts(), before, 'nothing reopened or canceled');
  assert.equal((await server.request('GET', `/rest/V1/bulk/${uuids.failed}/status`, { token: operator })).status, 200);
  // A caller that can neither read nor change it gets the read resource's 401, as for any foreign bulk.
  const stranger = await server.request('POST', `/rest/V1/bulk/${uuids.failed}/cancel`, { token: other, body: {} });
  assert.equal(stranger.status, 401);
  assert.deepEqual(stranger.json.parameters, { resources: BULK_OPERATIONS_RESOURCE });

  const own = await server.request('POST', `/rest/V1/bulk/${uuids.failed}/retry`, { token: clerk.token, body: {} });
  assert.equal(own.status, 200, own.text);
  assert.deepEqual(own.json, { bulk_uuid: uuids.failed, reopened: 1 });

  const manager = (
    await createIntegrationToken(server.db.pool, server.db.schema, {
      name: 'manager',
      resources: [BULK_MANAGE_ALL_RESOURCE],
    })
  ).token;
  const canceled = await server.request('POST', `/rest/V1/bulk/${uuids.failed}/cancel`, { token: manager, body: {} });
  assert.equal(canceled.status, 200, canceled.text);
  assert.deepEqual(canceled.json, { bulk_uuid: uuids.failed, canceled: 1 });
  const unknown = await server.request('POST', '/rest/V1/bulk/00000000-0000-4000-8000-00000000ffff/retry', {
    token: manager,
    body: {},
  });
  assert.equal(unknown.status, 404, 'the manager sees every bulk, so an unknown one is simply not found');
});

test('event streams count against admission: past maxConcurrentStreams a 503 with Retry-After; a closed stream frees its place', async () => {
  const busy = await startTestServer('status-streams-busy', { maxConcurrentStreams: 1, busyRetryAfterSeconds: 3 });
  try {
    const first = new AbortController();
    const open = await fetch(`${busy.url}/rest/V1/bulks/stream`, {
      headers: { Authorization: `Bearer ${busy.token}` },
      signal: first.signal,
    });
    assert.equal(open.status, 200);
    await open.body!.getReader().read(); // the first event: the stream is open and holds its place

    const refused = await busy.request('GET', '/rest/V1/bulks/stream');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '3');
    assert.deepEqual(refused.json, {
      message: 'The server is busy with other requests. Try again in %retryAfter seconds.',
      parameters: { retryAfter: 3 },
    });
    const list = await busy.request('GET', '/rest/V1/bulks');
    assert.equal(list.status, 200, 'plain requests are not streams');

    first.abort();
    // The server sees the client go away on its own time: wait for the place, boundedly.
    await waitFor(
      async () => {
        const controller = new AbortController();
        const again = await fetch(`${busy.url}/rest/V1/bulks/stream`, {
          headers: { Authorization: `Bearer ${busy.token}` },
          signal: controller.signal,
        });
        controller.abort();
        if (again.status !== 200) assert.equal(again.status, 503);
        return again.status === 200;
      },
      10_000,
      'the closed stream to give its place back',
    );
  } finally {
    await busy.stop();
  }
});
