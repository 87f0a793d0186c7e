/**
 * The four store-scope fallback rules (CONTRACT §6), each as: state before, one save in a scope,
 * then the name every store view sees (0 admin, 1 default, 2 second).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import catalog, * as catalogModule from '../../../examples/catalog/index.ts';
import { ALL, DEFAULT, NO_CODE, SECOND } from '../../plugins/fixtures.ts';
import type { StoreScope } from '../../../src/plugin.ts';
import { OperationError } from '../../../src/plugin.ts';
import { pluginDatabase } from '../support.ts';

const h = catalog.handlers!;
const views = [0, 1, 2] as const;

interface Step {
  store: StoreScope;
  op: 'PostV1Products' | 'PutV1ProductsSku';
  name: string;
}
const cases: { title: string; steps: Step[]; seen: [admin: string, def: string, second: string] }[] = [
  {
    title: 'create without store code: global value, seen by every view',
    steps: [{ store: NO_CODE, op: 'PostV1Products', name: 'Bag' }],
    seen: ['Bag', 'Bag', 'Bag'],
  },
  {
    title: 'update without store code: the default store view only',
    steps: [
      { store: NO_CODE, op: 'PostV1Products', name: 'Bag' },
      { store: NO_CODE, op: 'PutV1ProductsSku', name: 'Default Bag' },
    ],
    seen: ['Bag', 'Default Bag', 'Bag'],
  },
  {
    title: 'POST of an existing sku without store code is an update (default view only)',
    steps: [
      { store: NO_CODE, op: 'PostV1Products', name: 'Bag' },
      { store: NO_CODE, op: 'PostV1Products', name: 'Default Bag' },
    ],
    seen: ['Bag', 'Default Bag', 'Bag'],
  },
  {
    title: '`all`: every view without its own value; the view with one keeps it',
    steps: [
      { store: NO_CODE, op: 'PostV1Products', name: 'Bag' },
      { store: SECOND, op: 'PutV1ProductsSku', name: 'Second Bag' },
      { store: ALL, op: 'PutV1ProductsSku', name: 'All Bag' },
    ],
    seen: ['All Bag', 'All Bag', 'Second Bag'],
  },
  {
    title: 'store code: that view only',
    steps: [
      { store: NO_CODE, op: 'PostV1Products', name: 'Bag' },
      { store: SECOND, op: 'PutV1ProductsSku', name: 'Second Bag' },
    ],
    seen: ['Bag', 'Bag', 'Second Bag'],
  },
  {
    title: 'explicit `default` code behaves as a store code',
    steps: [
      { store: NO_CODE, op: 'PostV1Products', name: 'Bag' },
      { store: DEFAULT, op: 'PutV1ProductsSku', name: 'Default Bag' },
    ],
    seen: ['Bag', 'Default Bag', 'Bag'],
  },
  {
    title: 'PUT of an unknown sku creates it; with a store code the admin scope gets the required values too',
    steps: [{ store: SECOND, op: 'PutV1ProductsSku', name: 'Second Bag' }],
    seen: ['Second Bag', 'Second Bag', 'Second Bag'],
  },
];

test('catalog fallback rules', async (t) => {
  const { run } = await pluginDatabase(t, 'catalog', [catalogModule]);
  for (const [index, c] of cases.entries()) {
    await t.test(c.title, async () => {
      const sku = `sku-${index}`;
      for (const s of c.steps) {
        const product = { sku, name: s.name, price: 10 + index, type_id: 'simple' };
        const args = { sku, product }; // POST ignores a top-level sku
        const saved = (await run(s.store, (ctx) => Promise.resolve(h[s.op]!(args, ctx)))) as Record<string, unknown>;
        assert.equal(saved.name, s.name, 'the response shows the product in the scope it was saved in');
      }
      const seen = await run(NO_CODE, async (ctx) => {
        const names: unknown[] = [];
        for (const store of views) names.push((await catalogModule.productView(ctx.tx, sku, store))!.name);
        return names;
      });
      assert.deepEqual(seen, c.seen);
    });
  }
});

test('catalog response shape, custom attributes, delete and its Magento error', async (t) => {
  const { run } = await pluginDatabase(t, 'catalog_crud', [catalogModule]);
  const saved = (await run(NO_CODE, async (ctx) =>
    h.PostV1Products!(
      {
        product: {
          sku: '24-MB01',
          name: 'Joust Duffle Bag',
          price: 34,
          attribute_set_id: 4,
          weight: 1.5,
          custom_attributes: [{ attribute_code: 'color', value: '49' }],
        },
      },
      ctx,
    ),
  )) as Record<string, unknown>;
  assert.deepEqual(
    { ...saved, created_at: typeof saved.created_at, updated_at: typeof saved.updated_at },
    {
      id: saved.id,
      sku: '24-MB01',
      name: 'Joust Duffle Bag',
      attribute_set_id: 4,
      price: 34,
      status: 1,
      visibility: 4,
      type_id: 'simple',
      created_at: 'string',
      updated_at: 'string',
      weight: 1.5,
      extension_attributes: { website_ids: [1] },
      product_links: [],
      options: [],
      media_gallery_entries: [],
      tier_prices: [],
      custom_attributes: [{ attribute_code: 'color', value: '49' }],
    },
  );
  assert.equal(await run(NO_CODE, async (ctx) => h.DeleteV1ProductsSku!({ sku: '24-MB01' }, ctx)), true);
  await assert.rejects(
    run(NO_CODE, async (ctx) => h.DeleteV1ProductsSku!({ sku: '24-MB01' }, ctx)),
    (e: unknown) =>
      e instanceof OperationError &&
      e.message === "The product that was requested doesn't exist. Verify the product and try again.",
  );
  const left = await run(
    NO_CODE,
    async (ctx) => (await ctx.tx.query('SELECT count(*)::int AS n FROM catalog_product_value')).rows[0]!.n,
  );
  assert.equal(left, 0, 'store values go with their product');
});
