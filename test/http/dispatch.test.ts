import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRequest } from '../../src/http/dispatch.ts';
import { WebapiError } from '../../src/errors/catalogue.ts';

const cases: [method: string, path: string, patch: boolean, expected: string, unversioned?: boolean][] = [
  ['POST', '/async/V1/products', false, 'async'],
  ['PUT', '/async/V2/products/x', false, 'async'],
  ['POST', '/async/bulk/V1/products', false, 'bulk'],
  ['DELETE', '/async/bulk/V1/cmsPage/byPageId', false, 'bulk'],
  ['GET', '/async/schema', false, 'asyncSchema'],
  ['POST', '/async/schema', false, 'asyncSchema'],
  ['GET', '/async/bulk/schema', false, 'bulkSchema'],
  ['GET', '/V1/bulk/abc/status', false, 'sync'],
  ['PATCH', '/async/V1/companies/1', true, 'async'],
  ['GET', '/async/V1/products/x', false, '400 Specified request cannot be processed.'],
  ['GET', '/async/bulk/V1/products/x', false, '400 Specified request cannot be processed.'],
  ['POST', '/xx/async/V1/products', false, '400 Specified request cannot be processed.'],
  ['POST', '/async', false, '400 Specified request cannot be processed.'],
  ['PATCH', '/async/V1/products/x', false, '405 The PATCH HTTP method is not supported.'],
  ['OPTIONS', '/async/V1/products', true, '405 The OPTIONS HTTP method is not supported.'],
  ['POST', '/async/products', false, '400 Specified request cannot be processed.'],
  ['POST', '/async/companies/1', true, 'async', true],
  ['PATCH', '/async/bulk/companies/byId', true, 'bulk', true],
  ['GET', '/async/companies/1', true, '400 Specified request cannot be processed.', true],
];

for (const [method, path, patch, expected, unversioned = false] of cases) {
  test(`${method} ${path}${patch ? ' (spec has PATCH)' : ''}${unversioned ? ' (unversioned spec)' : ''} → ${expected}`, () => {
    let got: string;
    try {
      got = classifyRequest(method, path, { patch, unversioned });
    } catch (error) {
      assert.ok(error instanceof WebapiError);
      got = `${error.status} ${error.message}`;
    }
    assert.equal(got, expected);
  });
}
