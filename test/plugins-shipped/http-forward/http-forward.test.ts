/**
 * http-forward against a real HTTP server on 127.0.0.1:0 that plays a Magento store: 200 with the
 * saved entity, 400 in Magento's error format, 503, and a response slower than the timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import * as forward from '../../../plugins/http-forward/index.ts';
import { OperationError, RetriableError } from '../../../src/plugin.ts';
import { loadPlugins } from '../../../src/plugins/loader.ts';
import type { Route } from '../../../src/routes/types.ts';
import { context, NO_CODE, SECOND, sampleRoutes } from '../../plugins/fixtures.ts';
import { simulatedWork } from '../../support/wait.ts';

// The generated route table when codegen has run, else the same routes written inline.
const generated = new URL('../../../src/generated/routes.gen.js', import.meta.url);
const routes: readonly Route[] = existsSync(generated)
  ? ((await import(generated.href)) as { routes: readonly Route[] }).routes
  : sampleRoutes;

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  idempotencyKey: string | string[] | undefined;
  body: string;
}

async function upstream(t: import('node:test').TestContext) {
  const seen: Seen[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({
      method: req.method!,
      url: req.url!,
      auth: req.headers.authorization,
      idempotencyKey: req.headers['idempotency-key'],
      body,
    });
    const reply = (status: number, json: unknown) =>
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(json));
    if (req.url!.includes('/slow')) return void simulatedWork(4000, { unref: true }).then(() => reply(200, {}));
    if (req.url!.includes('/down')) return reply(503, { message: 'Service Unavailable' });
    if (req.url!.includes('/bad')) {
      return reply(400, { message: 'The "%1" value is invalid for %2.', parameters: ['x', 'y'], code: 7 });
    }
    if (req.url!.includes('/named')) {
      return reply(404, { message: 'Product "%sku" does not exist', parameters: { sku: 'named' } });
    }
    if (req.method === 'DELETE') return reply(200, true);
    reply(200, { id: 42, ...(JSON.parse(body || '{}') as { product?: object }).product });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/`;
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    modules: [{ source: 'plugins/http-forward/index.ts', module: forward }],
    // Generous for a loaded machine's first request; /slow answers well after it.
    upstream: { baseUrl, token: 'tok-123', timeoutMs: 1500 },
    frameworkVersion: '1.0.0',
  });
  return { seen, registry, baseUrl };
}

test('replays the synchronous call: method, store code, encoded path, body without path params, token', async (t) => {
  const { seen, registry } = await upstream(t);
  const args = { sku: 'a/b c', product: { sku: 'a/b c', price: 29 }, saveOptions: true };
  const { result, handler } = await registry.invoke('PutV1ProductsSku', args, context(null as never, SECOND));
  assert.equal(handler, 'MagentoAsync_HttpForward::PutV1ProductsSku');
  assert.deepEqual(result, { id: 42, sku: 'a/b c', price: 29 });
  assert.deepEqual(seen[0], {
    method: 'PUT',
    url: '/rest/second/V1/products/a%2Fb%20c',
    auth: 'Bearer tok-123',
    // The same on every attempt of the operation, so the upstream can apply a repeat once.
    idempotencyKey: '00000000-0000-4000-8000-000000000000:0',
    body: JSON.stringify({ product: { sku: 'a/b c', price: 29 }, saveOptions: true }),
  });
  const del = await registry.invoke('DeleteV1ProductsSku', { sku: 'gone' }, context(null as never, NO_CODE));
  assert.equal(del.result, true);
  assert.equal(seen[1]!.url, '/rest/V1/products/gone', 'no store code in, none out');
  assert.equal(seen[1]!.body, '');
});

const failures: {
  title: string;
  sku: string;
  kind: typeof RetriableError | typeof OperationError;
  message: RegExp;
  code: number;
}[] = [
  {
    title: '4xx: OperationError with the rendered positional message and code',
    sku: 'bad',
    kind: OperationError,
    message: /^The "x" value is invalid for y\.$/,
    code: 7,
  },
  {
    title: '4xx: named placeholders',
    sku: 'named',
    kind: OperationError,
    message: /^Product "named" does not exist$/,
    code: 0,
  },
  { title: '5xx: retriable', sku: 'down', kind: RetriableError, message: /^Service Unavailable$/, code: 0 },
  {
    title: 'timeout: retriable',
    sku: 'slow',
    kind: RetriableError,
    message: /^Upstream PUT .*\/slow timed out after 1500 ms$/,
    code: 0,
  },
];
for (const f of failures) {
  test(`failure mapping: ${f.title}`, async (t) => {
    const { registry } = await upstream(t);
    await assert.rejects(
      registry.invoke('PutV1ProductsSku', { sku: f.sku, product: { price: 1 } }, context(null as never, NO_CODE)),
      (e: unknown) => {
        assert.ok(e instanceof f.kind, `${String(e)}`);
        assert.match((e as Error).message, f.message);
        assert.equal((e as OperationError).errorCode, f.code);
        // Exactly one of the two kinds: the consumer maps RetriableError to 2, the rest to 3.
        assert.equal(e instanceof RetriableError, f.kind === RetriableError);
        return true;
      },
    );
  });
}

test('failure mapping: connection refused is retriable', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    modules: [{ source: 'http-forward', module: forward }],
    upstream: { baseUrl: `http://127.0.0.1:${port}/rest`, timeoutMs: 500 },
    frameworkVersion: '1.0.0',
  });
  await assert.rejects(
    registry.invoke('DeleteV1ProductsSku', { sku: 'x' }, context(null as never, NO_CODE)),
    (e: unknown) => {
      assert.ok(e instanceof RetriableError);
      assert.match(e.message, /^Upstream DELETE http:\/\/127.0.0.1:\d+\/rest\/V1\/products\/x failed: ECONNREFUSED$/);
      return true;
    },
  );
});

test('without an upstream the plugin offers nothing', () => {
  assert.equal(forward.fallback({ routes }), undefined);
});
