/**
 * http-forward is polite to the store it forwards to, as counted by that store (a real loopback
 * HTTP server): connections are kept alive and reused, calls in flight and calls per second stay
 * within the configured caps across every route, a `Retry-After` holds back every call, and a call
 * is given up at its deadline or when the consumer aborts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as forward from '../../../plugins/http-forward/index.ts';
import { RetriableError, type HandlerContext } from '../../../src/plugin.ts';
import { loadPlugins, type UpstreamConfig } from '../../../src/plugins/loader.ts';
import type { Route } from '../../../src/routes/types.ts';
import { context, NO_CODE, sampleRoutes } from '../../plugins/fixtures.ts';
import { loopbackStore, type StoreOptions } from './store.ts';
import { waitFor } from '../../support/wait.ts';

const generated = new URL('../../../src/generated/routes.gen.js', import.meta.url);
const routes: readonly Route[] = existsSync(generated)
  ? ((await import(generated.href)) as { routes: readonly Route[] }).routes
  : sampleRoutes;

async function forwarding(
  t: import('node:test').TestContext,
  store: StoreOptions,
  upstream: Omit<UpstreamConfig, 'baseUrl'> = {},
) {
  const s = await loopbackStore(t, store);
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    modules: [{ source: 'plugins/http-forward/index.ts', module: forward }],
    upstream: { baseUrl: s.baseUrl, timeoutMs: 5000, ...upstream },
    frameworkVersion: '1.0.0',
  });
  const put = (sku: string, signal?: AbortSignal) =>
    registry.invoke('PutV1ProductsSku', { sku, product: { sku, price: 1 } }, ctx(signal));
  const del = (sku: string) => registry.invoke('DeleteV1ProductsSku', { sku }, ctx());
  return { store: s, put, del };
}

function ctx(signal?: AbortSignal): HandlerContext {
  const c = context(null as never, NO_CODE);
  return signal ? { ...c, signal } : c;
}

const skus = (n: number, prefix = 'sku') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test('connections are kept alive: 40 calls, at most maxInFlight connections, reused afterwards', async (t) => {
  const { store, put } = await forwarding(t, { latencyMs: 5 }, { maxInFlight: 4 });
  await Promise.all(skus(40).map((s) => put(s)));
  assert.equal(store.calls.length, 40);
  assert.ok(store.connections() <= 4, `${store.connections()} connections opened for 4 in flight`);
  const opened = store.connections();
  for (const s of skus(10, 'again')) await put(s);
  assert.equal(store.connections(), opened, 'later calls reuse the pooled connections');
});

test('calls in flight never exceed maxInFlight, across routes', async (t) => {
  const { store, put, del } = await forwarding(t, { latencyMs: 20 }, { maxInFlight: 3 });
  await Promise.all([...skus(15).map((s) => put(s)), ...skus(15, 'gone').map((s) => del(s))]);
  assert.equal(store.calls.length, 30);
  assert.equal(store.peakInFlight(), 3);
});

test('calls started per second never exceed maxPerSecond', async (t) => {
  const { store, put } = await forwarding(t, {}, { maxInFlight: 50, maxPerSecond: 5 });
  const from = performance.now();
  await Promise.all(skus(12).map((s) => put(s)));
  assert.equal(store.calls.length, 12);
  // Counted where they arrive, on a machine that may be loaded: a call arrives no sooner than it
  // started, however late, and at most five start in any second from `from`, so the k-th to arrive
  // came at least ⌊k/5⌋ seconds after it (without the cap all 12 arrive within milliseconds).
  const arrived = store.calls.map((c) => c.at - from).sort((a, b) => a - b);
  arrived.forEach((ms, k) => assert.ok(ms >= Math.floor(k / 5) * 1000, `call ${k} arrived ${ms} ms in`));
});

const backOffs: { title: string; status: number; header: () => string; seconds: number }[] = [
  { title: '429 with delay-seconds', status: 429, header: () => '2', seconds: 2 },
  {
    title: '503 with an HTTP-date',
    status: 503,
    // Whole seconds only: 3 s from the next full second.
    header: () => new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000).toUTCString(),
    seconds: 3,
  },
];
for (const b of backOffs) {
  test(`Retry-After (${b.title}): the call fails retriably with it, and no call reaches the store before it ends`, async (t) => {
    let until = 0;
    const { store, put } = await forwarding(t, {
      answer: (call) => {
        if (call.sku !== 'busy') return undefined;
        const header = b.header();
        until = header.includes('GMT') ? Date.parse(header) : Date.now() + Number(header) * 1000;
        return { status: b.status, headers: { 'Retry-After': header }, body: { message: 'Too busy' } };
      },
    });
    await assert.rejects(put('busy'), (e: unknown) => {
      assert.ok(e instanceof RetriableError);
      assert.equal(e.message, 'Too busy');
      assert.ok(e.retryAfterSeconds! >= b.seconds, `retryAfterSeconds ${e.retryAfterSeconds}`);
      return true;
    });
    await Promise.all(skus(3).map((s) => put(s)));
    for (const call of store.calls.slice(1)) {
      const early = until - (performance.timeOrigin + call.at);
      assert.ok(early <= 5, `${call.sku} reached the store ${early.toFixed(0)} ms before Retry-After ended`);
    }
  });
}

test('a Retry-After longer than a call may wait: other calls are refused at once, not sent, and carry it', async (t) => {
  const { store, put } = await forwarding(t, {
    answer: (call) => (call.sku === 'busy' ? { status: 429, headers: { 'Retry-After': '120' } } : undefined),
  });
  await assert.rejects(put('busy'), RetriableError);
  await assert.rejects(put('other'), (e: unknown) => {
    assert.ok(e instanceof RetriableError);
    assert.match(e.message, /^Upstream PUT .*\/other was not called: The upstream asked to wait 1[12]\d s/);
    assert.ok(e.retryAfterSeconds! > 110 && e.retryAfterSeconds! <= 120);
    return true;
  });
  assert.deepEqual(
    store.calls.map((c) => c.sku),
    ['busy'],
  );
});

test('a 429 without Retry-After holds nothing back', async (t) => {
  const { store, put } = await forwarding(t, {
    answer: (call) => (call.sku === 'busy' ? { status: 429, body: { message: 'Slow down' } } : undefined),
  });
  await assert.rejects(put('busy'), (e: unknown) => e instanceof RetriableError && e.retryAfterSeconds === undefined);
  await put('next');
  assert.equal(store.calls.length, 2);
});

test('the deadline: a call slower than upstream.timeoutMs is aborted, retriably, and its connection closed', async (t) => {
  const { store, put } = await forwarding(t, { latencyMs: 4000 }, { timeoutMs: 300 });
  await assert.rejects(put('slow'), (e: unknown) => {
    assert.ok(e instanceof RetriableError);
    assert.match(e.message, /^Upstream PUT .*\/slow timed out after 300 ms$/);
    return true;
  });
  await waitUntil(() => store.abandoned() === 1);
});

test("the consumer's abort (ctx.signal) ends a call in flight and a wait for a slot", async (t) => {
  const { store, put } = await forwarding(t, { latencyMs: 4000 }, { maxInFlight: 1 });
  const controller = new AbortController();
  const inFlight = put('first', controller.signal);
  const waiting = put('second', controller.signal);
  await waitUntil(() => store.calls.length === 1);
  controller.abort(new Error('handler timeout'));
  for (const [call, message] of [
    [inFlight, /^Upstream PUT .*\/first was aborted by the consumer$/],
    [
      waiting,
      /^Upstream PUT .*\/second was aborted by the consumer while waiting to be sent \(upstream\.maxInFlight 1 reached\)$/,
    ],
  ] as const) {
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof RetriableError);
      assert.match(e.message, message);
      return true;
    });
  }
  await waitUntil(() => store.abandoned() === 1);
  assert.equal(store.calls.length, 1, 'the waiting call was never sent');
});

async function waitUntil(check: () => boolean): Promise<void> {
  await waitFor(check, 5000, 'the store to see it');
}

test('credentials in upstream.baseUrl are sent (basic auth) but never shown in a message', async (t) => {
  const store = await loopbackStore(t, { answer: () => ({ status: 503 }) });
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    modules: [{ source: 'plugins/http-forward/index.ts', module: forward }],
    upstream: { baseUrl: store.baseUrl.replace('http://', 'http://shop:s3cret@') },
    frameworkVersion: '1.0.0',
  });
  await assert.rejects(registry.invoke('DeleteV1ProductsSku', { sku: 'x' }, ctx()), (e: unknown) => {
    assert.ok(e instanceof RetriableError);
    assert.match(e.message, /^Upstream DELETE http:\/\/127\.0\.0\.1:\d+\/rest\/V1\/products\/x answered HTTP 503\.$/);
    return true;
  });
  assert.equal(store.calls[0]!.authorization, `Basic ${Buffer.from('shop:s3cret').toString('base64')}`);
});
