import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aclOf } from '../../codegen/acl.ts';

describe('ACL resources of a route', () => {
  const cases: Array<[name: string, operation: Record<string, unknown>, entity: string, acl: string[]]> = [
    [
      'x-acl array wins',
      { 'x-acl': ['Magento_Catalog::products', 'Magento_Catalog::products'] },
      'customers',
      ['Magento_Catalog::products'],
    ],
    ['x-acl comma string', { 'x-acl': 'A::a, B::b' }, 'products', ['A::a', 'B::b']],
    ['x-acl anonymous', { 'x-acl': ['anonymous'] }, 'customers', ['anonymous']],
    ['security: [] is anonymous', { security: [] }, 'products', ['anonymous']],
    ['Magento products default', {}, 'products', ['Magento_Catalog::products']],
    ['Magento customers default', {}, 'customers', ['Magento_Customer::manage']],
    ['Magento CMS page default', {}, 'cmsPage', ['Magento_Cms::page']],
    ['Magento carts default', {}, 'carts', ['Magento_Cart::manage']],
    ['generic entity: <Entity>::manage', { security: [{ OAuth2Security: [] }] }, 'files', ['Files::manage']],
  ];
  for (const [name, operation, entity, acl] of cases) test(name, () => assert.deepEqual(aclOf(operation, entity), acl));
});
