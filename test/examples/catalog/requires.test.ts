/** What the catalog example's operations require (examples/catalog/requires.ts): the products they name. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requires } from '../../../examples/catalog/requires.ts';

const SAVE = 'Magento\\Catalog\\Api\\ProductRepositoryInterface::save';
const CHILD = 'Magento\\ConfigurableProduct\\Api\\LinkManagementInterface::addChild';
const SET_LINKS = 'Magento\\Catalog\\Api\\ProductLinkManagementInterface::setProductLinks';
const SAVE_LINK = 'Magento\\Catalog\\Api\\ProductLinkRepositoryInterface::save';
const MEDIA = 'Magento\\Catalog\\Api\\ProductAttributeMediaGalleryManagementInterface::create';
const products = (...skus: string[]) => skus.map((key) => ({ entity: 'products', key }));

describe("the catalog example's requirements", () => {
  const cases: [string, string, Record<string, unknown>, ReturnType<typeof products>][] = [
    [
      'a configurable child link: the configurable and the child',
      CHILD,
      { sku: 'cfg', childSku: 'kid' },
      products('cfg', 'kid'),
    ],
    [
      'product links: each linked product',
      SET_LINKS,
      { sku: 'a', items: [{ linked_product_sku: 'b' }, { linked_product_sku: 'c' }] },
      products('b', 'c'),
    ],
    ['one product link', SAVE_LINK, { sku: 'a', entity: { linked_product_sku: 'b' } }, products('b')],
    [
      'a product saved with links',
      SAVE,
      { product: { sku: 'a', product_links: [{ linked_product_sku: 'b' }] } },
      products('b'),
    ],
    ['a product saved without links: nothing', SAVE, { sku: 'a', product: { price: 1 } }, []],
    ['media of a product: the product', MEDIA, { sku: 'a', entry: {} }, products('a')],
    ['a link without a sku: nothing to wait for', SET_LINKS, { sku: 'a', items: [{}] }, []],
  ];
  for (const [what, operationId, args, expected] of cases) {
    it(what, () => assert.deepEqual(requires[operationId]!(args), expected));
  }
});
