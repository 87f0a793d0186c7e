import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  asyncPath,
  bulkPath,
  compareRoutes,
  entityOf,
  pathParamNames,
  toTemplate,
  topicName,
} from '../../codegen/paths.ts';

describe('path rules (CONTRACT §1)', () => {
  const cases: Array<[spec: string, template: string, async: string, bulk: string]> = [
    ['/V1/products', '/V1/products', '/async/V1/products', '/async/bulk/V1/products'],
    ['/V1/products/{sku}', '/V1/products/:sku', '/async/V1/products/{sku}', '/async/bulk/V1/products/bySku'],
    [
      '/V1/products/{sku}/media/{entryId}',
      '/V1/products/:sku/media/:entryId',
      '/async/V1/products/{sku}/media/{entryId}',
      '/async/bulk/V1/products/bySku/media/byEntryId',
    ],
    [
      '/V1/carts/{quoteId}/items',
      '/V1/carts/:quoteId/items',
      '/async/V1/carts/{quoteId}/items',
      '/async/bulk/V1/carts/byQuoteId/items',
    ],
    [
      '/V1/customers/{customer_id}',
      '/V1/customers/:customer_id',
      '/async/V1/customers/{customer_id}',
      '/async/bulk/V1/customers/byCustomer_id',
    ],
    ['/V1/invoices/', '/V1/invoices', '/async/V1/invoices/', '/async/bulk/V1/invoices/'],
    ['/V1/carts/{cartId}/', '/V1/carts/:cartId', '/async/V1/carts/{cartId}/', '/async/bulk/V1/carts/byCartId/'],
    ['/files/{file_id}#get_shared_link', '/files/:file_id', '/async/files/{file_id}', '/async/bulk/files/byFile_id'],
    ['/', '/', '/async/', '/async/bulk/'],
  ];
  for (const [spec, template, async, bulk] of cases) {
    test(`${spec} → template ${template}, async ${async}, bulk ${bulk}`, () => {
      assert.equal(toTemplate(spec), template);
      assert.equal(asyncPath(spec), async);
      assert.equal(bulkPath(spec), bulk);
    });
  }

  test('path parameters come in URL order', () => {
    assert.deepEqual(pathParamNames('/V1/products/{sku}/media/{entryId}'), ['sku', 'entryId']);
  });
});

describe('topic names (CONTRACT §4)', () => {
  const cases: Array<[path: string, method: string, service: unknown, topic: string]> = [
    ['/V1/products', 'POST', null, 'async.V1.products.POST'],
    ['/V1/products/{sku}', 'PUT', null, 'async.V1.products.sku.PUT'],
    ['/V1/products/{sku}/', 'delete', null, 'async.V1.products.sku.DELETE'],
    [
      '/V1/products/{sku}',
      'PUT',
      { class: 'Magento\\Catalog\\Api\\ProductRepositoryInterface', method: 'save' },
      'async.magento.catalog.api.productrepositoryinterface.save.put',
    ],
    [
      '/V1/products',
      'POST',
      'Magento\\Catalog\\Api\\ProductRepositoryInterface::save',
      'async.magento.catalog.api.productrepositoryinterface.save.post',
    ],
    ['/V1/products', 'POST', { class: 42 }, 'async.V1.products.POST'],
  ];
  for (const [path, method, service, topic] of cases) {
    test(`${method} ${path}${service ? ' with a named service' : ''} → ${topic}`, () => {
      assert.equal(topicName(path, method, service), topic);
    });
  }
});

describe('entity of a path', () => {
  const cases: Array<[string, string]> = [
    ['/V1/products/{sku}/media', 'products'],
    ['/V1/cmsPage/{pageId}', 'cmsPage'],
    ['/V2/guest-carts/{cartId}', 'guest-carts'],
    ['/files/{file_id}', 'files'],
    ['/companies/{companyId}/webhooks', 'companies'],
    ['/{id}', 'id'],
    ['/', 'root'],
    ['/V1/we ird.name', 'we_ird_name'],
  ];
  for (const [path, entity] of cases) test(`${path} → ${entity}`, () => assert.equal(entityOf(path), entity));
});

describe('route order', () => {
  test('literal segments win over parameter segments, then text, then method', () => {
    const routes = [
      { template: '/V1/carts/:cartId/items', method: 'POST' },
      { template: '/V1/carts/mine/items', method: 'POST' },
      { template: '/V1/carts/:cartId', method: 'PUT' },
      { template: '/V1/carts/mine', method: 'PUT' },
      { template: '/V1/carts/mine', method: 'DELETE' },
      { template: '/V1/carts', method: 'POST' },
    ];
    assert.deepEqual(
      [...routes].sort(compareRoutes).map((r) => `${r.method} ${r.template}`),
      [
        'POST /V1/carts',
        'DELETE /V1/carts/mine',
        'PUT /V1/carts/mine',
        'POST /V1/carts/mine/items',
        'PUT /V1/carts/:cartId',
        'POST /V1/carts/:cartId/items',
      ],
    );
  });
});
