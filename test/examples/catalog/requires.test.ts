/** What the catalog example's operations require (examples/catalog/requires.ts): the products they name. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requires } from '../../../examples/catalog/requires.ts';

const products = (...skus: string[]) => skus.map((key) => ({ entity: 'products', key }));

describe("the catalog example's requirements", () => {
  const cases: [string, string, Record<string, unknown>, ReturnType<typeof products>][] = [
    [
      'a configurable child link: the configurable and the child',
      'PostV1ConfigurableproductsSkuChild',
      { sku: 'cfg', childSku: 'kid' },
      products('cfg', 'kid'),
    ],
    [
      'product links: each linked product',
      'PostV1ProductsSkuLinks',
      { sku: 'a', items: [{ linked_product_sku: 'b' }, { linked_product_sku: 'c' }] },
      products('b', 'c'),
    ],
    ['one product link', 'PutV1ProductsSkuLinks', { sku: 'a', entity: { linked_product_sku: 'b' } }, products('b')],
    [
      'a product saved with links',
      'PostV1Products',
      { product: { sku: 'a', product_links: [{ linked_product_sku: 'b' }] } },
      products('b'),
    ],
    ['a product saved without links: nothing', 'PutV1ProductsSku', { sku: 'a', product: { price: 1 } }, []],
    ['media of a product: the product', 'PostV1ProductsSkuMedia', { sku: 'a', entry: {} }, products('a')],
    ['a link without a sku: nothing to wait for', 'PostV1ProductsSkuLinks', { sku: 'a', items: [{}] }, []],
  ];
  for (const [what, operationId, args, expected] of cases) {
    it(what, () => assert.deepEqual(requires[operationId]!(args), expected));
  }
});
