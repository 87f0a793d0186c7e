/**
 * The catalog's batch handlers against its single handlers: the same operations, run one by one in
 * one database and as batches in another, must leave exactly the same rows and give the same
 * outcomes — over store scopes, creates, updates and deletes, repeated skus and failing items.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import catalog, * as catalogModule from '../../../examples/catalog/index.ts';
import { rounds } from '../../../examples/catalog/batch.ts';
import { ALL, DEFAULT, NO_CODE, SECOND, silentLog } from '../../plugins/fixtures.ts';
import type { BatchHandler, BatchOutcome, Handler, StoreScope } from '../../../src/plugin.ts';
import { pluginDatabase, type PluginDb } from '../support.ts';

type OperationId = 'PostV1Products' | 'PutV1ProductsSku' | 'DeleteV1ProductsSku';
interface Op {
  store: StoreScope;
  args: Record<string, unknown>;
}
/** One batch: operations of one operationId, in acceptance order. */
interface Step {
  op: OperationId;
  ops: Op[];
}

// Untyped on purpose: some cases send what the generated types would not let through.
const single = catalog.handlers! as unknown as Record<OperationId, Handler>;
const batch = catalog.batchHandlers! as unknown as Record<OperationId, BatchHandler>;

const post = (sku: string, store: StoreScope, extra: Record<string, unknown> = {}): Op => ({
  store,
  args: { product: { sku, name: `${sku} in ${store.code ?? 'none'}`, price: 10, ...extra } },
});
const put = (sku: string, store: StoreScope, extra: Record<string, unknown> = {}): Op => ({
  store,
  args: { sku, product: { name: `${sku} put in ${store.code ?? 'none'}`, ...extra } },
});
const del = (sku: unknown): Op => ({ store: NO_CODE, args: { sku } });
const seeded: Step = { op: 'PostV1Products', ops: ['a', 'b', 'c'].map((s) => post(s, NO_CODE)) };

const cases: { title: string; steps: Step[] }[] = [
  {
    title: 'creates in every scope',
    steps: [
      {
        op: 'PostV1Products',
        ops: [post('a', NO_CODE), post('b', ALL), post('c', DEFAULT), post('d', SECOND, { weight: 2 })],
      },
    ],
  },
  {
    title: 'updates in every scope, over products created without a code',
    steps: [
      seeded,
      { op: 'PutV1ProductsSku', ops: [put('a', NO_CODE), put('b', ALL, { price: 12 }), put('c', SECOND)] },
    ],
  },
  {
    title: 'PUT of unknown skus creates them, with required values at the admin scope',
    steps: [
      { op: 'PutV1ProductsSku', ops: [put('x', SECOND, { price: 5, status: 2 }), put('y', DEFAULT), put('z', ALL)] },
    ],
  },
  {
    title: 'POST of existing skus is an update; type, attribute set and custom attributes',
    steps: [
      seeded,
      {
        op: 'PostV1Products',
        ops: [
          post('a', NO_CODE, { type_id: 'virtual', attribute_set_id: 9 }),
          post('b', SECOND, { custom_attributes: [{ attribute_code: 'color', value: '49' }] }),
          post('new', ALL, { custom_attributes: [{ attribute_code: 'size', value: { big: true } }] }),
        ],
      },
    ],
  },
  {
    title: 'one sku twice in a batch is saved in order (its second save sees its first)',
    steps: [
      {
        op: 'PutV1ProductsSku',
        ops: [put('a', SECOND, { price: 1 }), put('b', NO_CODE), put('a', NO_CODE, { price: 2 }), put('a', ALL)],
      },
    ],
  },
  {
    title: 'a failing item fails alone; its neighbours are saved',
    steps: [
      {
        op: 'PostV1Products',
        ops: [post('a', NO_CODE), { store: NO_CODE, args: { product: { name: 'no sku' } } }, post('b', SECOND)],
      },
      { op: 'PutV1ProductsSku', ops: [put('a', ALL), { store: NO_CODE, args: { sku: 'q' } }, put('c', SECOND)] },
    ],
  },
  {
    title: 'deletes: existing, missing, repeated and malformed',
    steps: [seeded, { op: 'DeleteV1ProductsSku', ops: [del('a'), del('nope'), del('b'), del('a'), del(7)] }],
  },
  {
    title: 'create, update and delete batches in turn',
    steps: [
      seeded,
      { op: 'PutV1ProductsSku', ops: [put('a', SECOND), put('d', ALL)] },
      { op: 'DeleteV1ProductsSku', ops: [del('a'), del('c')] },
      { op: 'PostV1Products', ops: [post('a', SECOND), post('c', NO_CODE)] },
    ],
  },
];

/** An outcome without what legitimately differs between two databases (ids, clock). */
function normal(outcome: BatchOutcome): unknown {
  if (!outcome.ok) {
    const e = outcome.error as Error;
    return { failed: e.name, message: e.message };
  }
  if (outcome.result && typeof outcome.result === 'object') {
    const { id: _id, created_at: _c, updated_at: _u, ...rest } = outcome.result as Record<string, unknown>;
    return rest;
  }
  return outcome.result;
}

async function rows(db: PluginDb, prefix: string) {
  return db.run(NO_CODE, async (ctx) => ({
    products: (
      await ctx.tx.query('SELECT sku, type_id, attribute_set_id FROM catalog_product WHERE sku LIKE $1 ORDER BY sku', [
        `${prefix}%`,
      ])
    ).rows,
    values: (
      await ctx.tx.query(
        `SELECT sku, store_id, attribute, value FROM catalog_product_value WHERE sku LIKE $1
         ORDER BY sku, store_id, attribute`,
        [`${prefix}%`],
      )
    ).rows,
  }));
}

const withPrefix = (prefix: string, op: Op): Op => {
  const args = structuredClone(op.args) as { sku?: unknown; product?: { sku?: unknown } };
  if (typeof args.sku === 'string') args.sku = prefix + args.sku;
  if (typeof args.product?.sku === 'string') args.product.sku = prefix + args.product.sku;
  return { store: op.store, args };
};

test('catalog batch handlers write what the single handlers write', async (t) => {
  const one = await pluginDatabase(t, 'catalog_single', [catalogModule]);
  const many = await pluginDatabase(t, 'catalog_batch', [catalogModule]);
  for (const [index, c] of cases.entries()) {
    await t.test(c.title, async () => {
      const prefix = `c${index}-`;
      const singleOutcomes: unknown[] = [];
      const batchOutcomes: unknown[] = [];
      for (const step of c.steps) {
        const ops = step.ops.map((o) => withPrefix(prefix, o));
        for (const o of ops) {
          const outcome = await one
            .run(o.store, async (ctx) => ({ ok: true as const, result: await single[step.op]!(o.args, ctx) }))
            .catch((error: unknown) => ({ ok: false as const, error }));
          singleOutcomes.push(normal(outcome));
        }
        const outcomes = await many.run(NO_CODE, (ctx) =>
          batch[step.op]!(
            ops.map((o) => ({ args: o.args, ctx: { ...ctx, store: o.store } })),
            { tx: ctx.tx, operationId: step.op, signal: ctx.signal, log: silentLog },
          ),
        );
        assert.equal(outcomes.length, ops.length, 'one outcome per operation');
        batchOutcomes.push(...outcomes.map(normal));
      }
      assert.deepEqual(batchOutcomes, singleOutcomes);
      assert.deepEqual(await rows(many, prefix), await rows(one, prefix));
      assert.ok((await rows(one, prefix)).values.length || c.title.startsWith('deletes'), 'the case writes something');
    });
  }
});

test('rounds keep each key in order and never put a key twice in a round', () => {
  const items = ['a', 'b', 'a', 'c', 'a', 'b'].map((key, i) => ({ key, i }));
  assert.deepEqual(
    rounds(items, (x) => x.key).map((r) => r.map((x) => `${x.key}${x.i}`)),
    [['a0', 'b1', 'c3'], ['a2', 'b5'], ['a4']],
  );
});
