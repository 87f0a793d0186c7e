/**
 * Handlers receive what their generated types say. The consumer converts a copy of the stored
 * input with the operation's generated validator (Magento's ServiceInputProcessor casts, the same
 * coercion the accept step validated with), while what is stored stays the client's values.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validators } from '../../src/generated/validators.gen.js';
import { argumentCoercer, coerceArgs } from '../../src/plugins/coerce.ts';
import { startConsumer, type OperationInvoker } from '../../src/consumer/index.ts';
import { loadPlugins } from '../../src/plugins/loader.ts';
import { parseCryptKey } from '../../src/accept/crypt-key.ts';
import { queueForEntity } from '../../src/queue/names.ts';
import { ident } from '../../src/db/pool.ts';
import { silentLog } from './fixtures.ts';
import { startTestServer, TEST_CRYPT_KEY } from '../support/server.ts';

describe('coerceArgs with the generated validators', () => {
  const cases: { name: string; op: keyof typeof validators; stored: unknown; delivered: unknown }[] = [
    {
      name: 'a path parameter declared an integer arrives as a number',
      op: 'DeleteV1CmsPagePageId',
      stored: { pageId: '7' },
      delivered: { pageId: 7 },
    },
    {
      name: 'scalars are cast to the declared type, a string path parameter stays a string',
      op: 'PutV1ProductsSku',
      stored: { sku: '24-MB01', product: { sku: '24-MB01', price: '29', status: '1', name: 42 } },
      delivered: { sku: '24-MB01', product: { sku: '24-MB01', price: 29, status: 1, name: '42' } },
    },
    {
      name: 'null where the schema allows no null is cast as ajv casts it (number 0)',
      op: 'PutV1ProductsSku',
      stored: { sku: 'a', product: { sku: 'a', price: null } },
      delivered: { sku: 'a', product: { sku: 'a', price: 0 } },
    },
    {
      name: 'an empty PHP array (how Magento stores {}) becomes the object the schema declares',
      op: 'PostV1Products',
      stored: { product: { sku: 'a', extension_attributes: [], custom_attributes: [] } },
      delivered: { product: { sku: 'a', extension_attributes: {}, custom_attributes: [] } },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const stored = structuredClone(c.stored);
      assert.deepEqual(coerceArgs(validators[c.op], stored), { ok: true, args: c.delivered });
      assert.deepEqual(stored, c.stored, 'the input itself is not touched');
    });
  }

  test('input these validators reject is reported with the accept step’s Magento message', () => {
    assert.deepEqual(coerceArgs(validators.PutV1ProductsSku, { sku: 'a', product: { sku: 'a', price: 'cheap' } }), {
      ok: false,
      message: 'The "cheap" value\'s type is invalid. The "float" type was expected. Verify and try again.',
    });
  });

  test('the coercer passes such input on, converted as far as it went (another spec accepted it), and warns once', async () => {
    const seen: unknown[] = [];
    const warnings: unknown[] = [];
    const coerce = argumentCoercer(validators);
    const log = { ...silentLog, warn: (o: unknown) => warnings.push(o) };
    const odd = () => ({ sku: 'a', product: { sku: 'a', attribute_set_id: '4', price: 'cheap' } });
    seen.push(coerce('PutV1ProductsSku', odd(), log));
    seen.push(coerce('PutV1ProductsSku', odd(), log));
    seen.push(coerce('NotGeneratedHere', { x: '1' }, log));
    const partly = { sku: 'a', product: { sku: 'a', attribute_set_id: 4, price: 'cheap' } };
    assert.deepEqual(seen, [partly, partly, { x: '1' }]);
    assert.equal(warnings.length, 1);
  });

  test('operations the http-forward fallback runs are handed over as stored, to be replayed exactly', async () => {
    const coerce = argumentCoercer(validators, {
      asStored: (operationId) => operationId === 'DeleteV1CmsPagePageId',
    });
    assert.deepEqual(
      [
        coerce('DeleteV1CmsPagePageId', { pageId: '7' }, silentLog),
        coerce('DeleteV1ProductsSku', { sku: 5 }, silentLog),
      ],
      [{ pageId: '7' }, { sku: '5' }],
    );
  });
});

test('through the real accept and consumer: the handler sees numbers, the stored input keeps the strings', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coerce-plugins-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'probe'));
  const api = pathToFileURL(join(import.meta.dirname, '../../src/plugin.ts')).href;
  writeFileSync(
    join(dir, 'probe', 'index.ts'),
    `import { definePlugin } from '${api}';
     const seen = (args) => ({ args, types: JSON.stringify(args, (k, v) => (v !== null && typeof v === 'object' ? v : typeof v)) });
     export default definePlugin({ name: 'Acme_Probe', compatibility: '^1.0.0',
       handlers: { PutV1ProductsSku: async (args) => seen(args), DeleteV1CmsPagePageId: async (args) => seen(args) } });`,
  );
  const server = await startTestServer('coerce_e2e', { pluginsDir: dir });
  t.after(() => server.stop());
  const put = await server.request('PUT', '/rest/default/async/V1/products/24-MB01', {
    body: { product: { price: '29', status: '1', extension_attributes: {} } },
  });
  const del = await server.request('DELETE', '/rest/default/async/V1/cmsPage/7');
  assert.deepEqual([put.status, del.status], [202, 202]);

  const { pool, schema } = server.db;
  const stored = await pool.query<{ serialized_data: string }>(
    `SELECT serialized_data FROM ${ident(schema)}.operation ORDER BY topic_name DESC`,
  );
  assert.deepEqual(
    stored.rows.map((r) => JSON.parse(r.serialized_data).meta_information),
    [
      '{"product":{"price":"29","status":"1","extension_attributes":[],"sku":"24-MB01"},"sku":"24-MB01"}',
      '{"pageId":"7"}',
    ],
  );

  const registry = await loadPlugins({ routes: server.artifacts.routes, pluginsDir: dir });
  const consumer = await startConsumer({
    pool,
    boss: server.boss,
    schema,
    // What startConfiguredConsumer wires: the generated validators' coercion where the executor
    // builds the arguments.
    registry: registry as unknown as OperationInvoker,
    coerce: argumentCoercer(server.artifacts.validators),
    queues: [queueForEntity('products'), queueForEntity('cmsPage')],
    cryptKey: parseCryptKey(TEST_CRYPT_KEY),
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    log: silentLog,
  });
  t.after(() => consumer.stop());
  for (const bulk of [put.json.bulk_uuid, del.json.bulk_uuid]) {
    for (let i = 0; i < 20; i++) {
      const status = await server.request('GET', `/rest/V1/bulk/${bulk}/status?waitSeconds=5`);
      if (status.json.bulk_status >= 2) break;
    }
  }
  const done = await pool.query<{ status: number; result_serialized_data: string }>(
    `SELECT status, result_serialized_data FROM ${ident(schema)}.operation ORDER BY topic_name DESC`,
  );
  assert.deepEqual(
    done.rows.map((r) => [r.status, JSON.parse(r.result_serialized_data)]),
    [
      [
        1,
        {
          args: { product: { price: 29, status: 1, extension_attributes: {}, sku: '24-MB01' }, sku: '24-MB01' },
          types:
            '{"product":{"price":"number","status":"number","extension_attributes":{},"sku":"string"},"sku":"string"}',
        },
      ],
      [1, { args: { pageId: 7 }, types: '{"pageId":"number"}' }],
    ],
  );
});
