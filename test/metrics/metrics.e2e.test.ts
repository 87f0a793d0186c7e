/**
 * /metrics under load, checked against the database: `serve`'s accept counters and latency
 * histogram, a consumer's processed and retry counters on its own port, and the queue gauges
 * both report. Scrapes during the load never count more than the database holds (a counter moves
 * after its transaction committed); once the load is over they agree exactly.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { CART_BULK_PATH, cartItems, startCartConsumer, type CartConsumer } from '../support/cart-consumer.ts';
import { startMetricsServer } from '../../src/metrics/http.ts';
import { ident } from '../../src/db/pool.ts';
import { waitFor } from '../support/wait.ts';

type Samples = Map<string, number>;

/** Prometheus text format → `name{label="v",...}` → value (labels in the order printed). */
function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The sum of every series of `name` whose labels include all of `labels`. */
function sum(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    if ((brace === -1 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

async function scrape(url: string, init?: RequestInit): Promise<Samples> {
  const res = await fetch(url, init);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

let server: TestServer;
let cart: CartConsumer;
let consumerMetrics: { url: string; close(): Promise<void> };
const TOPIC = 'async.V1.carts.quoteId.items.POST';

before(async () => {
  // Retries at once: the test waits for pg-boss's automatic retry of the flaky operation.
  server = await startTestServer('metrics', {
    consumer: { retryDelaySeconds: 0, retryBackoff: false },
    metrics: { loopbackOnly: true },
  });
  cart = await startCartConsumer(server, { delayMs: 2, failing: true });
  const log = { info() {}, warn() {}, error() {}, debug() {} };
  consumerMetrics = (await startMetricsServer(cart.metrics, {
    port: 0,
    host: '127.0.0.1',
    token: null,
    loopbackOnly: true,
    log,
  }))!;
});
after(async () => {
  await consumerMetrics?.close();
  await cart?.stop();
  await server?.stop();
});

const s = () => ident(server.db.schema);
async function dbCount(sql: string): Promise<number> {
  const { rows } = await server.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`);
  return rows[0]!.n;
}

test('accept, processing and queue metrics agree with the database during and after a load', async () => {
  const REQUESTS = 40;
  // Every bulk: 4 valid items (one of them failing in its handler) and one invalid, rejected at
  // accept; the first bulk also has one that fails retriably once and completes on its retry.
  const body = (i: number) => [
    ...cartItems([`a-${i}`, `b-${i}`, `c-${i}`, `fail-${i}`, ...(i === 0 ? ['flaky-0'] : [])]),
    { quoteId: '7', cartItem: { qty: 'many' } },
  ];
  let rejected = 0;
  const load = (async () => {
    for (let wave = 0; wave < REQUESTS / 8; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          server.request('POST', `${CART_BULK_PATH}?partialAccept=true`, { body: body(wave * 8 + k) }),
        ),
      );
      for (const a of answers) {
        assert.equal(a.status, 202, a.text);
        rejected += a.json.request_items.filter((r: { status: string }) => r.status === 'rejected').length;
      }
    }
  })();

  let scrapes = 0;
  let previous = 0;
  let loadDone = false;
  void load.finally(() => (loadDone = true));
  // Scraped over and over while the load runs.
  await waitFor(
    async () => {
      const m = await scrape(`${server.url}/metrics`);
      const accepted = sum(m, 'magento_async_accepted_operations_total', { topic: TOPIC, outcome: 'accepted' });
      const inDb = await dbCount(`${s()}.operation`);
      assert.ok(accepted <= inDb, `scrape ${scrapes}: ${accepted} counted, ${inDb} in the database`);
      assert.ok(accepted >= previous, 'a counter never goes down');
      previous = accepted;
      scrapes++;
      return loadDone;
    },
    120_000,
    'the load to end',
  );
  await load;
  assert.ok(scrapes >= 2, `${scrapes} scrapes during the load`);
  assert.ok(rejected > 0);

  const m = await scrape(`${server.url}/metrics`);
  assert.equal(
    sum(m, 'magento_async_accepted_operations_total', { topic: TOPIC, store: 'default', outcome: 'accepted' }),
    await dbCount(`${s()}.operation`),
  );
  assert.equal(sum(m, 'magento_async_accepted_operations_total', { outcome: 'rejected' }), rejected);
  assert.equal(
    sum(m, 'magento_async_accepted_bulks_total', { kind: 'bulk', topic: TOPIC }),
    await dbCount(`${s()}.bulk`),
  );
  assert.equal(sum(m, 'magento_async_http_request_duration_seconds_count', { kind: 'bulk', code: '202' }), REQUESTS);

  // The consumer's own port: once every operation ran, its counters are the database's statuses.
  const settled = async () => (await dbCount(`${s()}.operation WHERE status IN (2, 4)`)) === 0;
  await waitFor(settled, 30_000, 'the consumer to finish the load');
  const c = await scrape(consumerMetrics.url);
  assert.equal(
    sum(c, 'magento_async_processed_operations_total', { topic: TOPIC, status: 'complete' }),
    await dbCount(`${s()}.operation WHERE status = 1`),
  );
  assert.equal(
    sum(c, 'magento_async_processed_operations_total', { topic: TOPIC, status: 'not_retriably_failed' }),
    await dbCount(`${s()}.operation WHERE status = 3`),
  );
  // The flaky operation ran twice: one retriable failure, one retry.
  assert.equal(sum(c, 'magento_async_processed_operations_total', { status: 'retriably_failed' }), 1);
  assert.equal(sum(c, 'magento_async_retries_total', { topic: TOPIC }), 1);
  assert.equal(
    sum(c, 'magento_async_processing_duration_seconds_count', { topic: TOPIC }),
    (await dbCount(`${s()}.operation`)) + 1,
  );
  assert.equal(sum(c, 'magento_async_consumers_alive'), 1);

  await cart.stop();
  const waiting = await server.request('POST', CART_BULK_PATH, { body: cartItems(['q1', 'q2', 'q3']) });
  assert.equal(waiting.status, 202);
  const q = await scrape(`${server.url}/metrics`);
  const jobs = await dbCount(`${ident(server.db.bossSchema)}.job WHERE state < 'completed'`);
  assert.equal(jobs, 3);
  assert.equal(sum(q, 'magento_async_queue_depth', { state: 'queued' }), jobs);
  assert.ok(sum(q, 'magento_async_queue_oldest_age_seconds') >= 0);
  assert.equal(sum(q, 'magento_async_consumers_alive'), 0, 'a consumer that stopped is not alive');
});

test('without loopbackOnly a loopback peer is no proof (a proxy on the same host looks like one): the token is required', async () => {
  const guarded = await startTestServer('metrics-proxied', { metrics: { token: 'scrape-secret' } });
  try {
    const cases: { server: TestServer; headers: Record<string, string>; status: number; message?: string }[] = [
      { server: guarded, headers: {}, status: 401, message: 'A valid bearer token is required.' },
      { server: guarded, headers: { Authorization: 'Bearer scrape-secret' }, status: 200 },
      // loopbackOnly, yet a proxy forwarded this one: the token is needed again.
      {
        server,
        headers: { 'X-Forwarded-For': '203.0.113.7' },
        status: 403,
        message: 'Metrics need metrics.token, or metrics.loopbackOnly with no proxy in front.',
      },
      { server, headers: { Forwarded: 'for=203.0.113.7' }, status: 403 },
      { server, headers: {}, status: 200 },
    ];
    for (const c of cases) {
      const res = await fetch(`${c.server.url}/metrics`, { headers: c.headers });
      assert.equal(res.status, c.status, JSON.stringify(c.headers));
      if (c.message) assert.deepEqual(await res.json(), { message: c.message });
      else await res.text();
    }
  } finally {
    await guarded.stop();
  }
  // Neither a token nor loopbackOnly: nobody is answered.
  const closed = await startTestServer('metrics-closed');
  try {
    const res = await fetch(`${closed.url}/metrics`);
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), {
      message: 'Metrics need metrics.token, or metrics.loopbackOnly with no proxy in front.',
    });
  } finally {
    await closed.stop();
  }
});

test('with metrics.token set, /metrics needs it as a bearer token', async () => {
  const guarded = await startTestServer('metrics-token', { metrics: { token: 'scrape-secret' } });
  try {
    const cases: { headers: Record<string, string>; status: number }[] = [
      { headers: {}, status: 401 },
      { headers: { Authorization: 'Bearer wrong' }, status: 401 },
      { headers: { Authorization: 'Bearer scrape-secret' }, status: 200 },
    ];
    for (const c of cases) {
      const res = await fetch(`${guarded.url}/metrics`, { headers: c.headers });
      assert.equal(res.status, c.status, JSON.stringify(c.headers));
      if (c.status !== 200) assert.deepEqual(await res.json(), { message: 'A valid bearer token is required.' });
      else await res.text();
    }
  } finally {
    await guarded.stop();
  }
});
