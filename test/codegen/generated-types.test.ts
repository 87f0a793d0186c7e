/**
 * Compile-time checks of the committed src/generated output (run by `tsc --noEmit`): handler
 * arguments are typed from the spec, so a wrong one is a type error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OperationArgs } from '../../src/generated/handlers.gen.ts';
import { routes, specInfo } from '../../src/generated/routes.gen.js';

const put: OperationArgs['PutV1ProductsSku'] = { sku: '24-MB01', product: { sku: '24-MB01', price: 29 } };
// @ts-expect-error price is a number in the spec
const wrongPrice: OperationArgs['PutV1ProductsSku'] = { sku: '24-MB01', product: { sku: '24-MB01', price: '29' } };
// @ts-expect-error the path parameter is part of the arguments
const noSku: OperationArgs['DeleteV1ProductsSku'] = {};
const del: OperationArgs['DeleteV1CmsPagePageId'] = { pageId: 3 };

test('the generated route table and handler types load', () => {
  assert.equal(specInfo.file, 'magento-sample.yaml');
  assert.equal(routes.length, 11);
  assert.ok([put, wrongPrice, noSku, del].length === 4);
});
