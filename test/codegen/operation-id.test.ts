import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deriveOperationId, OperationIdAllocator, sanitiseOperationId } from '../../codegen/operation-id.ts';

describe('operationIds', () => {
  const derived: Array<[string, string, string]> = [
    ['PUT', '/V1/products/{sku}', 'PutV1ProductsSku'],
    ['post', '/V1/carts/mine/items', 'PostV1CartsMineItems'],
    ['DELETE', '/V1/customers/{customer_id}', 'DeleteV1CustomersCustomerId'],
    ['PUT', '/files/{file_id}#add_shared_link', 'PutFilesFileIdAddSharedLink'],
  ];
  for (const [method, path, id] of derived)
    test(`derived for ${method} ${path}: ${id}`, () => assert.equal(deriveOperationId(method, path), id));

  const sanitised: Array<[string, string]> = [
    ['post_oauth2_token#refresh', 'post_oauth2_token_refresh'],
    ['get-companies-companyId', 'get_companies_companyId'],
    ['1st.op', '_1st_op'],
    ['###', ''],
  ];
  for (const [input, id] of sanitised)
    test(`"${input}" sanitised to "${id}"`, () => assert.equal(sanitiseOperationId(input), id));

  test('allocation keeps valid ids, derives missing ones, sanitises invalid ones, suffixes collisions in call order', () => {
    const ids = new OperationIdAllocator();
    assert.deepEqual(ids.allocate('PutV1ProductsSku', 'PUT', '/V1/products/{sku}'), {
      id: 'PutV1ProductsSku',
      note: null,
    });
    assert.deepEqual(ids.allocate(null, 'POST', '/V1/products'), { id: 'PostV1Products', note: 'missing' });
    assert.deepEqual(ids.allocate('PostV1Products', 'POST', '/V2/products'), {
      id: 'PostV1Products_2',
      note: 'duplicate',
    });
    assert.deepEqual(ids.allocate('PostV1Products', 'POST', '/V3/products'), {
      id: 'PostV1Products_3',
      note: 'duplicate',
    });
    assert.deepEqual(ids.allocate('a-b', 'POST', '/x'), { id: 'a_b', note: 'invalid' });
    assert.deepEqual(ids.allocate('a#b', 'POST', '/y'), { id: 'a_b_2', note: 'invalid' });
    assert.deepEqual(ids.allocate('', 'DELETE', '/z/{id}'), { id: 'DeleteZId', note: 'missing' });
  });
});
