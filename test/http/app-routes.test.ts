/**
 * The app's one router: which route answers a URL. Accept routes as codegen writes their paths
 * (with or without the spec's trailing slash, literal segments before parameters), the status API
 * under any store code, and the non-REST routes, all through the same middleware.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import type pg from 'pg';
import { createApp } from '../../src/http/app.ts';
import { Admission } from '../../src/http/admission.ts';
import { asyncPath, bulkPath } from '../../codegen/paths.ts';
import type { Route } from '../../src/routes/types.ts';
import type { Caller } from '../../src/kernel/caller.ts';

/** A route as codegen makes it from a spec path key; only what routing reads. */
function route(method: Route['method'], specPath: string): Route {
  return {
    method,
    path: specPath,
    template: specPath,
    asyncPath: asyncPath(specPath),
    bulkPath: bulkPath(specPath),
    operationId: `${method} ${specPath}`,
    acl: [],
  } as unknown as Route;
}

const caller: Caller = { userType: 2, userId: 1, resources: 'all', tokenName: null };
const silent = { info() {}, warn() {}, error() {}, debug() {} };
let server: Server;
let url: string;

before(async () => {
  const app = createApp({
    pool: null as unknown as pg.Pool,
    schema: 'unused',
    log: silent,
    routes: [
      route('POST', '/V1/carts/'),
      route('POST', '/V1/carts/mine'),
      route('POST', '/V1/carts/{cartId}'),
      route('PUT', '/V1/products/{sku}'),
      route('POST', '/V1/invoices/{id}/'),
    ],
    // Answers which route took the request, and with which parameters.
    accept: async (r, request) => ({
      status: 200,
      headers: {},
      body: JSON.stringify({ route: r.operationId, params: request.pathParams, path: request.path }),
    }),
    admission: new Admission({ maxConcurrent: 10, maxBytes: 1 << 20, retryAfterSeconds: 1 }),
    resolveStore: async (path) => {
      const m = /^\/(default|fr)(\/.*)$/.exec(path);
      return m
        ? { store: { id: 1, code: m[1]!, explicit: true }, path: m[2]! }
        : { store: { id: 1, code: null, explicit: false }, path };
    },
    authenticate: async () => caller,
    authorize: () => {},
    schemas: { async: {}, bulk: {} },
    sync: (router: Router, authenticated) => {
      router.get('/rest/sync/:version/bulk/:uuid/status', authenticated, (ctx) => {
        ctx.body = { status: (ctx.params as Record<string, string>).uuid };
      });
    },
    metrics: async (ctx) => {
      ctx.body = 'metrics';
    },
    dashboard: {
      path: '/admin/bulks',
      answer: (ctx) => {
        ctx.body = `dashboard ${ctx.path}`;
      },
    },
    limits: { maxBodyBytes: 1 << 20 },
  });
  server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

// Magento's router takes a URL with or without the trailing slash of the spec's path key.
const cases: [method: string, path: string, expected: string | null, params?: object][] = [
  ['POST', '/rest/async/V1/carts/', 'POST /V1/carts/'],
  ['POST', '/rest/async/V1/carts', 'POST /V1/carts/'],
  ['POST', '/rest/default/async/bulk/V1/carts/', 'POST /V1/carts/'],
  ['POST', '/rest/async/bulk/V1/carts', 'POST /V1/carts/'],
  ['POST', '/rest/async/V1/carts/mine', 'POST /V1/carts/mine'],
  ['POST', '/rest/async/V1/carts/7', 'POST /V1/carts/{cartId}', { cartId: '7' }],
  ['PUT', '/rest/fr/async/V1/products/24-MB01', 'PUT /V1/products/{sku}', { sku: '24-MB01' }],
  ['PUT', '/rest/async/V1/products/24-MB01/', 'PUT /V1/products/{sku}', { sku: '24-MB01' }],
  ['PUT', '/rest/async/V1/products/a%2Fb', 'PUT /V1/products/{sku}', { sku: 'a/b' }],
  ['POST', '/rest/async/V1/invoices/7', 'POST /V1/invoices/{id}/', { id: '7' }],
  ['POST', '/rest/async/bulk/V1/invoices/byId/', 'POST /V1/invoices/{id}/'],
  ['POST', '/rest/async/V1/carts//', null],
  ['PUT', '/rest/async/V1/carts/', null],
  ['POST', '/rest/async/V1/Carts', null],
];

for (const [method, path, expected, params] of cases) {
  test(`${method} ${path} → ${expected ?? 'no route'}`, async () => {
    const res = await fetch(url + path, { method, body: '{}', headers: { 'Content-Type': 'application/json' } });
    const body = (await res.json()) as { route: string; params: object };
    if (expected === null) {
      assert.equal(res.status, 404);
      assert.deepEqual(body, { message: 'Request does not match any route.' });
      return;
    }
    assert.equal(res.status, 200);
    assert.equal(body.route, expected);
    if (params) assert.deepEqual(body.params, params);
  });
}

test('the status API under any store and version, with trailing slashes trimmed as Magento does', async () => {
  for (const path of ['/rest/V1/bulk/abc/status', '/rest/default/V2/bulk/abc/status', '/rest/V1/bulk/abc/status//']) {
    const res = await fetch(url + path);
    assert.equal(res.status, 200, path);
    assert.deepEqual(await res.json(), { status: 'abc' });
  }
  const res = await fetch(url + '/rest/Vx/bulk/abc/status');
  assert.equal(res.status, 400, 'not a version: no processor takes it');
  const other = await fetch(url + '/rest/V1/bulk/abc/nothing');
  assert.equal(other.status, 404);
});

test('/metrics and the dashboard are routes of the same router, with the same middleware', async () => {
  const metrics = await fetch(url + '/metrics');
  assert.equal(await metrics.text(), 'metrics');
  assert.ok(metrics.headers.get('x-request-id'), 'the request id middleware ran');
  const page = await fetch(url + '/admin/bulks/app.js');
  assert.equal(await page.text(), 'dashboard /admin/bulks/app.js');
  assert.ok(page.headers.get('x-request-id'));
  const none = await fetch(url + '/admin/bulksx');
  assert.equal(none.status, 404);
  assert.deepEqual(await none.json(), { message: 'Request does not match any route.' });
});
