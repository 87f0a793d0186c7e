/**
 * `serve --spec <file>`: another spec's routes are generated at start into a cache folder and
 * served without a code change — including PATCH, which OpenAPI specs beyond Magento have.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadArtifacts } from '../../src/runtime/artifacts.ts';
import { startTestServer } from '../support/server.ts';

mkdirSync(join(process.cwd(), '.cache'), { recursive: true });
const dir = mkdtempSync(join(process.cwd(), '.cache/artifacts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const spec = {
  openapi: '3.1.0',
  info: { title: 'companies', version: '1' },
  paths: {
    '/companies/{companyId}': {
      patch: {
        operationId: 'patch-companies-companyId',
        'x-acl': ['anonymous'],
        parameters: [{ name: 'companyId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          content: {
            'application/json': {
              schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
            },
          },
        },
        responses: { '200': { description: 'ok' } },
      },
      get: { responses: { '200': { description: 'ok' } } },
    },
  },
};

test('a spec file is generated into the cache folder once and loaded from there', async () => {
  const file = join(dir, 'companies.json');
  writeFileSync(file, JSON.stringify(spec));
  const first = await loadArtifacts({ spec: file, cacheDir: join(dir, 'cache') });
  assert.deepEqual(
    first.routes.map((r) => [r.method, r.asyncPath, r.bulkPath, r.operationId]),
    [['PATCH', '/async/companies/{companyId}', '/async/bulk/companies/byCompanyId', 'patch_companies_companyId']],
  );
  assert.equal(typeof first.validators[first.routes[0]!.operationId], 'function');
  const again = await loadArtifacts({ spec: file, cacheDir: join(dir, 'cache') });
  assert.equal(again.dir, first.dir, 'same spec, same cache folder');
});

test('the server serves PATCH routes of a spec that has them', async (t) => {
  const file = join(dir, 'companies-serve.json');
  writeFileSync(file, JSON.stringify(spec));
  const artifacts = await loadArtifacts({ spec: file, cacheDir: join(dir, 'cache') });
  // Without this checkout's plugins folder: its plugins implement the sample spec's routes, and
  // serve, like a consumer, refuses to load plugins naming operations its route table lacks.
  const server = await startTestServer('artifacts-patch', { pluginsDir: join(dir, 'no-plugins') }, { artifacts });
  t.after(() => server.stop());
  const ok = await server.request('PATCH', '/rest/default/async/companies/acme', {
    body: { name: 'ACME' },
    token: null,
  });
  assert.equal(ok.status, 202, ok.text);
  const bulk = await server.request('PATCH', '/rest/async/bulk/companies/byCompanyId', {
    body: [{ companyId: 'a', name: 'A' }, { companyId: 'b' }],
    token: null,
  });
  assert.equal(bulk.status, 400);
  assert.deepEqual(bulk.json, {
    message: '"%fieldName" is required. Enter and try again.',
    parameters: { fieldName: 'name', index: 1, field: 'name' },
  });
  const put = await server.request('PUT', '/rest/default/async/companies/acme', { body: { name: 'x' }, token: null });
  assert.equal(put.status, 404, 'a known method on a path that does not serve it');
});
