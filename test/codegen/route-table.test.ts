import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normaliseSpec } from '../../codegen/load-spec.ts';
import { buildRouteTable } from '../../codegen/route-table.ts';

/** A small spec with the defects real ones have (specs/README.md), written to exercise each. */
const messy = {
  openapi: '3.0.2',
  info: { title: 'messy', version: '1', description: { $ref: 'intro/redocly-intro.md' } },
  paths: {
    '/V1/things': {
      get: { operationId: 'GetThings', responses: {} },
      post: {
        operationId: 'saveThing',
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/thing-wrapper' } } } },
        responses: {},
      },
    },
    '/V1/things/': { put: { operationId: 'saveThing', responses: {} } },
    '/V1/things/{thingId}': {
      parameters: [{ name: 'thingId', in: 'path', required: true, schema: { type: 'string' } }],
      put: {
        operationId: 'put-things-id',
        parameters: [
          { name: 'thingId', in: 'path', required: true, schema: { type: 'integer' } },
          { name: 'force', in: 'query', schema: { type: 'boolean' } },
        ],
        requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/thing-wrapper' } } } },
        responses: {},
      },
      delete: {
        requestBody: { content: { 'application/json': { schema: { type: 'array', items: { type: 'string' } } } } },
        responses: {},
      },
    },
    '/V1/things/{id}#archive': { delete: { operationId: 'archiveThing', responses: {} } },
    '/V1/things/mine': { patch: { operationId: 'post_oauth2_token#refresh', responses: {} } },
    '/V1/things/{thingId}/parts/{part}': { post: { operationId: 'AddPart', 'x-acl': 'Things::parts', responses: {} } },
  },
  components: {
    schemas: {
      'thing-wrapper': {
        type: 'object',
        required: ['thing'],
        properties: { thing: { $ref: '#/components/schemas/thing' }, note: { type: 'string' } },
      },
      thing: {
        allOf: [
          { $ref: '#/components/schemas/base' },
          { type: 'object', properties: { thingId: { type: 'integer' } } },
        ],
      },
      base: { type: 'object', properties: { name: { type: 'string' } } },
    },
  },
};

async function table() {
  const spec = await normaliseSpec(structuredClone(messy), { file: 'messy.json', sha256: '0' });
  return { spec, ...buildRouteTable(spec.doc) };
}

describe('route table of a messy spec', () => {
  test('does not crash; one route per write operation, none for GET, duplicates dropped', async () => {
    const { routes } = await table();
    assert.deepEqual(
      routes.map((r) => `${r.method} ${r.path} ${r.operationId}`),
      [
        'POST /V1/things saveThing',
        'PUT /V1/things/ saveThing_2',
        'PATCH /V1/things/mine post_oauth2_token_refresh',
        'DELETE /V1/things/{thingId} DeleteV1ThingsThingId',
        'PUT /V1/things/{thingId} put_things_id',
        'POST /V1/things/{thingId}/parts/{part} AddPart',
      ],
    );
    assert.equal(
      routes.some((r) => (r.method as string) === 'GET'),
      false,
    );
  });

  test('every diagnostic names the path and method of what it is about', async () => {
    const { spec, diagnostics } = await table();
    assert.deepEqual(
      spec.diagnostics.map((d) => d.code),
      ['external-ref'],
    );
    assert.deepEqual(
      diagnostics.map((d) => `${d.code} ${d.method} ${d.path}`),
      [
        'operation-id PUT /V1/things/',
        'operation-id PUT /V1/things/{thingId}',
        'operation-id DELETE /V1/things/{thingId}',
        'duplicate-route DELETE /V1/things/{id}#archive',
        'operation-id PATCH /V1/things/mine',
        'undeclared-path-param POST /V1/things/{thingId}/parts/{part}',
        'undeclared-path-param POST /V1/things/{thingId}/parts/{part}',
      ],
    );
    const duplicate = diagnostics.find((d) => d.code === 'duplicate-route')!;
    assert.match(duplicate.message, /DELETE \/V1\/things\/\{thingId\}/);
  });

  test('operation parameters override path-level ones; path params in URL order', async () => {
    const put = (await table()).routes.find((r) => r.operationId === 'put_things_id')!;
    assert.deepEqual(put.parameters, [
      { name: 'thingId', in: 'path', required: true, schema: { type: 'integer' } },
      { name: 'force', in: 'query', required: false, schema: { type: 'boolean' } },
    ]);
    assert.deepEqual((await table()).routes.find((r) => r.operationId === 'AddPart')!.pathParams, ['thingId', 'part']);
  });

  test('object bodies join the input (bodyKey null) and find last-param targets through $ref and allOf', async () => {
    const put = (await table()).routes.find((r) => r.operationId === 'put_things_id')!;
    assert.equal(put.hasBody, true);
    assert.equal(put.bodyKey, null);
    assert.deepEqual(put.lastParamTargets, ['thing']);
  });

  test('a DELETE may have a body; a non-object body is kept under "body"', async () => {
    const del = (await table()).routes.find((r) => r.method === 'DELETE')!;
    assert.equal(del.hasBody, true);
    assert.equal(del.bodyKey, 'body');
    assert.deepEqual(del.lastParamTargets, []);
  });

  test('input schema: body properties plus path and query params; required body fields and path params', async () => {
    const { details } = await table();
    const put = details.find((d) => d.route.operationId === 'put_things_id')!;
    assert.deepEqual(put.inputSchema, {
      type: 'object',
      properties: {
        thing: { $ref: '#/components/schemas/thing' },
        note: { type: 'string' },
        thingId: { type: 'integer' },
        force: { type: 'boolean' },
      },
      required: ['thing', 'thingId'],
    });
  });

  test('ACL: x-acl, else per-entity default', async () => {
    const { routes } = await table();
    assert.deepEqual(routes.find((r) => r.operationId === 'AddPart')!.acl, ['Things::parts']);
    assert.deepEqual(routes.find((r) => r.operationId === 'saveThing')!.acl, ['Things::manage']);
  });

  test('the same document always gives the same table', async () => {
    assert.deepEqual((await table()).routes, (await table()).routes);
  });
});

test('routes list the body fields the spec marks secret (format: password, x-secret), at any depth', () => {
  const { routes } = buildRouteTable({
    openapi: '3.0.2',
    info: { title: 'secrets', version: '1' },
    paths: {
      '/V1/accounts': {
        post: {
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    account: { $ref: '#/components/schemas/account' },
                    password: { type: 'string', format: 'password' },
                  },
                },
              },
            },
          },
          responses: {},
        },
      },
      '/V1/plain': {
        post: {
          requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { a: {} } } } } },
          responses: {},
        },
      },
    },
    components: {
      schemas: {
        account: {
          type: 'object',
          properties: {
            pin: { type: 'string', format: 'password' },
            tokens: {
              type: 'array',
              items: { type: 'object', properties: { apiKey: { type: 'string', 'x-secret': true } } },
            },
            self: { $ref: '#/components/schemas/account' },
          },
        },
      },
    },
  });
  // `password` is always secret, so it is not listed; a route with none has no key at all.
  assert.deepEqual(routes.find((r) => r.path === '/V1/accounts')!.secretFields, ['apiKey', 'pin']);
  assert.equal('secretFields' in routes.find((r) => r.path === '/V1/plain')!, false);
});
