/**
 * The keep-alive pool against a loopback store: idle connections are closed by us before a store's
 * keep-alive timeout, a call outlasting that idle time is not cut, and a request that meets a
 * pooled connection the store has dropped is sent again on a fresh one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Transport } from '../../../plugins/http-forward/transport.ts';
import { loopbackStore } from './store.ts';

const put = (t: Transport, url: string) =>
  t.send(url, { method: 'PUT', headers: {}, body: '{}', signal: AbortSignal.timeout(5000) });

test('an idle pooled connection is closed after idleMs; a call longer than that is not cut', async (t) => {
  const store = await loopbackStore(t, { latencyMs: 400 });
  const transport = new Transport({ baseUrl: store.baseUrl, maxSockets: 1, idleMs: 150 });
  t.after(() => transport.close());
  const response = await put(transport, `${store.baseUrl}/V1/products/long`);
  assert.equal(response.status, 200, 'the 400 ms call outlived the 150 ms idle timeout');
  assert.equal(store.closed(), 0);
  await waitUntil(() => store.closed() === 1);
});

test('a reused connection the store dropped: the request goes again on a new one, once', async (t) => {
  // Each connection's second request is dropped, as by a store closing it while idle.
  const perConnection = new Map<number, number>();
  const store = await loopbackStore(t, {
    answer: (call) => {
      const n = perConnection.set(call.connection, (perConnection.get(call.connection) ?? 0) + 1).get(call.connection)!;
      return n === 2 ? { reset: true, status: 0 } : undefined;
    },
  });
  const transport = new Transport({ baseUrl: store.baseUrl, maxSockets: 1 });
  t.after(() => transport.close());
  assert.equal((await put(transport, `${store.baseUrl}/V1/products/a`)).status, 200);
  assert.equal((await put(transport, `${store.baseUrl}/V1/products/b`)).status, 200);
  assert.deepEqual(
    store.calls.map((c) => [c.sku, c.connection]),
    [
      ['a', 1],
      ['b', 1],
      ['b', 2],
    ],
  );
});

test('a fresh connection that fails is not sent again', async (t) => {
  const store = await loopbackStore(t, { answer: () => ({ reset: true, status: 0 }) });
  const transport = new Transport({ baseUrl: store.baseUrl, maxSockets: 1 });
  t.after(() => transport.close());
  await assert.rejects(put(transport, `${store.baseUrl}/V1/products/a`), { code: 'ECONNRESET' });
  assert.equal(store.calls.length, 1);
});

async function waitUntil(check: () => boolean): Promise<void> {
  const until = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(20);
  }
}
