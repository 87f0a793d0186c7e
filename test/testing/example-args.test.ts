/**
 * The example arguments `plugin:new` writes into its tests and `kit.example` gives: for every route
 * of a spec, the operation's own validator (the one the server runs) accepts them. The sample spec
 * always; the shared real specs when present (../shared/specs is not part of the repository).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../codegen/spec-record.ts';
import { importArtifacts, loadArtifacts } from '../../src/runtime/artifacts.ts';
import { exampleArgs, exampleValue } from '../../src/testing/example-args.ts';
import { SAMPLE_GENERATED } from '../support/project.ts';

const SPECS = join(PROJECT_ROOT, '../shared/specs');
const REAL = ['adobedocs-admin-schema-2.4.8.json', 'adobedocs-customer-schema-2.4.8.json'];

async function invalidExamples(artifacts: Awaited<ReturnType<typeof importArtifacts>>): Promise<string[]> {
  const invalid: string[] = [];
  for (const route of artifacts.routes) {
    const args = exampleArgs(route, artifacts.schemas.async);
    const validate = artifacts.validators[route.operationId]!;
    if (!validate(structuredClone(args)))
      invalid.push(`${route.operationId} ${JSON.stringify(args)}: ${JSON.stringify(validate.errors?.[0])}`);
  }
  return invalid;
}

test('the sample spec: every operation accepts its example arguments', async () => {
  const artifacts = await importArtifacts(SAMPLE_GENERATED);
  assert.deepEqual(await invalidExamples(artifacts), []);
  const put = artifacts.routes.find((r) => r.operationId === 'PutV1ProductsSku')!;
  // The last path parameter is carried into the body object too, as Magento's PUT rule fills it.
  assert.deepEqual(exampleArgs(put, artifacts.schemas.async), { sku: 'example-sku', product: { sku: 'example-sku' } });
});

for (const file of REAL) {
  const skip = existsSync(join(SPECS, file)) ? false : `${join(SPECS, file)} not found (only in the shared workspace)`;
  test(`${file}: every operation accepts its example arguments`, { skip, timeout: 300_000 }, async (t) => {
    const cache = mkdtempSync(join(tmpdir(), 'examples-'));
    t.after(() => rmSync(cache, { recursive: true, force: true }));
    const artifacts = await loadArtifacts({ spec: join(SPECS, file), cacheDir: cache });
    assert.ok(artifacts.routes.length > 10);
    assert.deepEqual(await invalidExamples(artifacts), []);
  });
}

test('a value of each kind of schema', () => {
  const doc = {
    definitions: { item: { type: 'object', required: ['qty'], properties: { qty: { type: 'integer', minimum: 5 } } } },
  };
  const cases: [object, unknown][] = [
    [{ type: 'string' }, 'example-value'],
    [{ type: 'string', format: 'date-time' }, '2024-01-01T00:00:00Z'],
    [{ type: 'string', minLength: 20 }, 'example-valuexxxxxxx'],
    [{ type: 'integer', minimum: 5 }, 5],
    [{ type: 'number' }, 1],
    [{ type: 'boolean' }, true],
    [{ enum: ['b', 'a'] }, 'b'],
    [{ type: 'array', items: { type: 'string' } }, []],
    [{ type: 'array', minItems: 1, items: { $ref: '#/definitions/item' } }, [{ qty: 5 }]],
    [
      {
        allOf: [
          { $ref: '#/definitions/item' },
          { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } },
        ],
      },
      { qty: 5, sku: 'example-sku' },
    ],
    [{ oneOf: [{ type: 'integer' }, { type: 'string' }] }, 1],
    [{ type: 'object', properties: { optional: { type: 'string' } } }, {}],
  ];
  for (const [schema, expected] of cases)
    assert.deepEqual(exampleValue(doc, schema as Record<string, unknown>), expected, JSON.stringify(schema));
});
