/**
 * The keep-alive pool against a loopback store: idle connections are closed by us before a store's
 * keep-alive timeout, a call outlasting that idle time is not cut, and a request that meets a
 * pooled connection the store has dropped is sent again on a fresh one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transport } from '../../../plugins/http-forward/transport.ts';
import { loopbackStore } from './store.ts';
import { waitFor } from '../../support/wait.ts';

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

/** A self-signed certificate for 127.0.0.1, made now (no key is kept in the repository). */
function selfSigned(): { key: string; cert: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'forward-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat(
        ['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1'],
        ['-addext', 'subjectAltName=IP:127.0.0.1'],
      ),
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('https: the pool keeps TLS connections alive too (one handshake for many calls)', async (t) => {
  const tls = selfSigned();
  if (!tls) return t.skip('openssl is not installed, so no certificate can be made');
  let connections = 0;
  let calls = 0;
  const server = createServer(tls, (req, res) => {
    calls++;
    req.resume();
    req.once('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}'));
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/rest`;
  const transport = new Transport({ baseUrl, maxSockets: 2, ca: tls.cert });
  t.after(() => transport.close());
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => put(transport, `${baseUrl}/V1/products/${i}`)),
  );
  assert.deepEqual(
    answers.map((a) => [a.status, a.text]),
    Array.from({ length: 10 }, () => [200, '{"ok":true}']),
  );
  assert.equal(calls, 10);
  assert.ok(connections <= 2, `${connections} TLS connections for 2 in flight`);
});

async function waitUntil(check: () => boolean): Promise<void> {
  await waitFor(check, 5000, 'the store to see it');
}
