import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouteMatcher } from '../../src/http/route-matcher.ts';
import { asyncPath, bulkPath } from '../../codegen/paths.ts';
import type { Route } from '../../src/routes/types.ts';

/** A route as codegen makes it from a spec path key; only what matching reads. */
function route(method: Route['method'], specPath: string): Route {
  return {
    method,
    path: specPath,
    asyncPath: asyncPath(specPath),
    bulkPath: bulkPath(specPath),
    operationId: `${method} ${specPath}`,
  } as Route;
}

const matcher = createRouteMatcher([
  route('POST', '/V1/carts/'),
  route('PUT', '/V1/products/{sku}'),
  route('POST', '/V1/invoices/{id}/'),
]);

// Magento's router takes a URL with or without the trailing slash of the spec's path key.
const cases: [kind: 'async' | 'bulk', method: string, url: string, expected: string | null, params?: object][] = [
  ['async', 'POST', '/async/V1/carts/', 'POST /V1/carts/'],
  ['async', 'POST', '/async/V1/carts', 'POST /V1/carts/'],
  ['bulk', 'POST', '/async/bulk/V1/carts/', 'POST /V1/carts/'],
  ['bulk', 'POST', '/async/bulk/V1/carts', 'POST /V1/carts/'],
  ['async', 'PUT', '/async/V1/products/24-MB01', 'PUT /V1/products/{sku}', { sku: '24-MB01' }],
  ['async', 'PUT', '/async/V1/products/24-MB01/', 'PUT /V1/products/{sku}', { sku: '24-MB01' }],
  ['async', 'POST', '/async/V1/invoices/7', 'POST /V1/invoices/{id}/', { id: '7' }],
  ['bulk', 'POST', '/async/bulk/V1/invoices/byId/', 'POST /V1/invoices/{id}/'],
  ['async', 'POST', '/async/V1/carts//', null],
  ['async', 'PUT', '/async/V1/carts/', null],
];

for (const [kind, method, url, expected, params] of cases) {
  test(`${kind} ${method} ${url} → ${expected ?? 'no route'}`, () => {
    const found = matcher.match(kind, method, url);
    assert.equal(found?.route.operationId ?? null, expected);
    if (params) assert.deepEqual(found?.params, params);
  });
}
