/**
 * Batch handlers run by the real consumer: claimed operations of one operationId go to the batch
 * handler together, in one transaction with their statuses; a group that throws is rolled back and
 * run one by one, so one bad operation fails alone and nothing is written twice; an `around`
 * interceptor keeps every operation on its single handler.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PgBoss } from 'pg-boss';
import catalog, * as catalogModule from '../../examples/catalog/index.ts';
import { startConsumer, type ConsumerOptions } from '../../src/consumer/consumer.ts';
import { ident } from '../../src/db/pool.ts';
import {
  definePlugin,
  OperationError,
  type BatchHandler,
  type Handler,
  type Interceptor,
  type PluginDefinition,
} from '../../src/plugin.ts';
import { loadPlugins, runInstalls } from '../../src/plugins/loader.ts';
import { pluginSchema } from '../../src/plugins/migrations.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { route } from '../plugins/fixtures.ts';
import { seedBulk, silentLog } from './seed.ts';

const OP = 'PutV1ProductsSku';
const routes = [
  route('PUT', '/V1/products/{sku}', OP),
  route('POST', '/V1/products', 'PostV1Products'),
  route('DELETE', '/V1/products/{sku}', 'DeleteV1ProductsSku'),
];

/**
 * Records every write with the path that made it: a rolled-back group leaves none of its rows, and
 * an operation written twice shows twice.
 */
const effects = (interceptors: Interceptor[] = [], sizes: number[] = []): PluginDefinition => ({
  name: 'Test_Effects',
  compatibility: '^1.0.0',
  handlers: {
    [OP]: (async (args: { sku: string }, ctx) => {
      if (args.sku.startsWith('bad')) throw new OperationError(`bad sku ${args.sku}`, { code: 7 });
      await ctx.tx.query('INSERT INTO effect (sku, store, how) VALUES ($1, $2, $3)', [
        args.sku,
        ctx.store.code,
        'single',
      ]);
      return { sku: args.sku };
    }) as Handler,
  },
  batchHandlers: {
    [OP]: (async (ops, ctx) => {
      sizes.push(ops.length);
      const good = ops.filter((o) => !o.args.sku.startsWith('bad'));
      await ctx.tx.query(
        'INSERT INTO effect (sku, store, how) SELECT s, c, $3 FROM unnest($1::text[], $2::text[]) AS t(s, c)',
        [good.map((o) => o.args.sku), good.map((o) => o.ctx.store.code), 'batch'],
      );
      return ops.map((o) =>
        o.args.sku.startsWith('bad')
          ? { ok: false, error: new OperationError(`bad sku ${o.args.sku}`, { code: 7 }) }
          : { ok: true, result: { sku: o.args.sku } },
      );
    }) as BatchHandler<{ sku: string }>,
  },
  interceptors,
});

describe('batch handlers in the consumer', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let s: string;

  before(async () => {
    db = await createTestDatabase('batch_handler');
    s = ident(db.schema);
    await db.pool.query(`CREATE TABLE ${s}.effect (sku text NOT NULL, store text, how text NOT NULL)`);
    await db.pool.query(`INSERT INTO ${s}.store (store_id, code, name) VALUES (2, 'second', 'Second')`);
    await runInstalls(db.pool, db.schema, [{ plugin: 'Magento_Catalog', sql: catalogModule.migrations[0]! }]);
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 60 });
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  /** Seeds the bulks first, so the consumer's batches are full, then runs them to the end. */
  async function consume(
    plugin: PluginDefinition,
    bulks: { args: (key: number) => unknown; count: number; storeCode?: string }[],
    coerce?: ConsumerOptions['coerce'],
  ) {
    const seeded: string[] = [];
    for (const b of bulks) {
      seeded.push(
        await seedBulk(db.pool, boss, db.schema, {
          count: b.count,
          operationId: OP,
          args: b.args,
          storeId: b.storeCode === 'second' ? 2 : 1,
          storeCode: b.storeCode ?? null,
        }),
      );
    }
    const registry = await loadPlugins({
      routes,
      pluginsDir: null,
      modules: [{ source: 'test', module: { default: definePlugin(plugin) } }],
      frameworkVersion: '1.0.0',
    });
    const total = bulks.reduce((n, b) => n + b.count, 0);
    const consumer = await startConsumer({
      pool: db.pool,
      boss,
      schema: db.schema,
      registry,
      // The catalog example's tables are in its own schema (src/plugins/migrations.ts).
      searchPath: [db.schema, pluginSchema(db.schema, 'Magento_Catalog'), 'public'],
      queues: ['async.products'],
      batchSize: 20,
      concurrency: 1,
      maxMessages: total,
      log: silentLog,
      coerce,
    });
    await consumer.done;
    const { rows } = await db.pool.query(
      `SELECT bulk_uuid, operation_key AS key, status, error_code, result_message, result_serialized_data AS result
       FROM ${s}.operation WHERE bulk_uuid = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], bulk_uuid), operation_key`,
      [seeded],
    );
    const written = (await db.pool.query(`SELECT sku, store, how FROM ${s}.effect ORDER BY sku, how`)).rows;
    await db.pool.query(`TRUNCATE ${s}.effect`);
    return { operations: rows, written };
  }

  const sku = (prefix: string) => (key: number) => ({ sku: `${prefix}${String(key).padStart(2, '0')}` });

  it('runs a full batch as groups of the batch handler, each operation in its own store, recorded as Magento does', async () => {
    const sizes: number[] = [];
    const { operations, written } = await consume(effects([], sizes), [
      { args: sku('a'), count: 12 },
      { args: sku('b'), count: 8, storeCode: 'second' },
    ]);
    assert.ok(sizes.length > 0 && sizes.every((n) => n > 1), `groups of more than one: ${sizes.join(',')}`);
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      20,
    );
    assert.deepEqual(
      operations.map((o) => [o.status, o.result_message, JSON.parse(o.result as string)]),
      [...Array.from({ length: 12 }, (_, k) => sku('a')(k)), ...Array.from({ length: 8 }, (_, k) => sku('b')(k))].map(
        (r) => [1, 'Service execution success Test_Effects::PutV1ProductsSku', r],
      ),
    );
    assert.deepEqual(written, [
      ...Array.from({ length: 12 }, (_, k) => ({ ...sku('a')(k), store: null, how: 'batch' })),
      ...Array.from({ length: 8 }, (_, k) => ({ ...sku('b')(k), store: 'second', how: 'batch' })),
    ]);
  });

  it("a batch handler's operations get their arguments converted where the executor builds them, as a single handler's do", async () => {
    const upper = (_op: string, args: unknown) => ({ sku: (args as { sku: string }).sku.toUpperCase() });
    const { operations, written } = await consume(effects(), [{ args: sku('conv-'), count: 3 }], upper);
    assert.deepEqual(
      operations.map((o) => o.status),
      [1, 1, 1],
    );
    assert.deepEqual(
      written.map((w) => `${w.sku} ${w.how}`),
      ['CONV-00 batch', 'CONV-01 batch', 'CONV-02 batch'],
    );
  });

  it('a failure the batch handler reports fails that operation only, in the batch', async () => {
    const { operations, written } = await consume(effects(), [
      { args: (k) => ({ sku: k === 3 ? 'bad3' : `c${k}` }), count: 6 },
    ]);
    assert.deepEqual(
      operations.map((o) => [o.key, o.status, o.error_code]),
      [
        [0, 1, null],
        [1, 1, null],
        [2, 1, null],
        [3, 3, 7],
        [4, 1, null],
        [5, 1, null],
      ],
    );
    assert.equal(operations[3].result_message, 'bad sku bad3');
    assert.deepEqual(new Set(written.map((w) => w.how)), new Set(['batch']));
    assert.equal(written.length, 5);
  });

  it('a group that throws is rolled back and run one by one: the bad operation fails alone, nothing is written twice', async () => {
    const picky: Interceptor = {
      name: 'picky',
      target: OP,
      after: (result, args: { sku: string }) => {
        if (args.sku === 'd2') throw new OperationError('d2 is refused after saving', { code: 9 });
        return result;
      },
    };
    const { operations, written } = await consume(effects([picky]), [{ args: (k) => ({ sku: `d${k}` }), count: 5 }]);
    assert.deepEqual(
      operations.map((o) => [o.key, o.status, o.error_code, o.result_message]),
      [0, 1, 2, 3, 4].map((k) =>
        k === 2
          ? [k, 3, 9, 'd2 is refused after saving']
          : [k, 1, null, 'Service execution success Test_Effects::PutV1ProductsSku'],
      ),
    );
    assert.deepEqual(
      written,
      [0, 1, 3, 4].map((k) => ({ sku: `d${k}`, store: null, how: 'single' })),
      'the group left no row; each operation but the refused one wrote once, singly',
    );
  });

  it('an around interceptor keeps every operation on its single handler', async () => {
    const sizes: number[] = [];
    const timing: Interceptor = { name: 'timing', target: '*', around: (next, args) => next(args) };
    const { operations, written } = await consume(effects([timing], sizes), [{ args: sku('e'), count: 4 }]);
    assert.deepEqual(sizes, []);
    assert.deepEqual(
      operations.map((o) => o.status),
      [1, 1, 1, 1],
    );
    assert.deepEqual(new Set(written.map((w) => w.how)), new Set(['single']));
  });

  it('the catalog: a statement that throws for one product falls back, and only that product fails', async () => {
    const tried: number[] = [];
    const saveBatch = catalog.batchHandlers!.PutV1ProductsSku!;
    const spied: PluginDefinition = {
      ...catalog,
      batchHandlers: { ...catalog.batchHandlers, [OP]: (ops, ctx) => (tried.push(ops.length), saveBatch(ops, ctx)) },
    };
    const { operations } = await consume(spied, [
      {
        args: (k) => ({
          sku: `p${k}`,
          product: { name: `P${k}`, price: k, ...(k === 1 ? { attribute_set_id: 'x' } : {}) },
        }),
        count: 4,
      },
    ]);
    assert.deepEqual(tried, [4], 'the batch was tried first');
    assert.deepEqual(
      operations.map((o) => o.status),
      [1, 3, 1, 1],
    );
    assert.match(
      operations[1].result_message as string,
      /^The operation failed with an internal error \(22P02\)\. Details are in the consumer log/,
      'as its single run fails it',
    );
    assert.ok(!/SELECT|INSERT|unnest/i.test(operations[1].result_message as string), 'no SQL in the stored message');
    const names = (
      await db.pool.query(
        `SELECT sku FROM ${ident(pluginSchema(db.schema, 'Magento_Catalog'))}.catalog_product WHERE sku LIKE 'p%' ORDER BY sku`,
      )
    ).rows;
    assert.deepEqual(
      names.map((r) => r.sku),
      ['p0', 'p2', 'p3'],
    );
    assert.deepEqual(JSON.parse(operations[0].result as string).name, 'P0');
  });
});
