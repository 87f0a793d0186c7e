/**
 * Operation inputs as Magento 2.4.8 builds them (CONTRACT §2, source notes §3.2/§3.3), checked on
 * their json_encode (what is stored and hashed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildAsyncInput,
  buildBulkInputs,
  camelCaseToSnakeCase,
  filterInputData,
  snakeCaseToCamelCase,
} from '../../src/accept/input.ts';
import { phpJsonDecode, phpJsonEncode, PhpArray } from '../../src/accept/php-json.ts';
import { WebapiError, E } from '../../src/errors/catalogue.ts';
import type { Route, WriteMethod } from '../../src/routes/types.ts';

function route(method: WriteMethod, path: string, extra: Partial<Route> = {}): Route {
  const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  return {
    method,
    path,
    template: path.replace(/\{(\w+)\}/g, ':$1'),
    asyncPath: '/async' + path,
    bulkPath: '/async/bulk' + path,
    topic: 'async.test',
    entity: 'test',
    operationId: 'op',
    specOperationId: null,
    pathParams,
    parameters: pathParams.map((name) => ({ name, in: 'path' as const, required: true, schema: { type: 'string' } })),
    hasBody: method !== 'DELETE',
    bodyKey: null,
    lastParamTargets: [],
    acl: ['anonymous'],
    ...extra,
  };
}

const putProduct = route('PUT', '/V1/products/{sku}', { lastParamTargets: ['product'] });
const withQuery = route('POST', '/V1/things/{id}', {
  parameters: [
    { name: 'id', in: 'path', required: true, schema: {} },
    { name: 'mode', in: 'query', required: false, schema: {} },
  ],
});

const ASYNC: ReadonlyArray<{
  rule: string;
  route: Route;
  body: string | undefined;
  path: Record<string, string>;
  query?: Record<string, string>;
  stored: string;
}> = [
  {
    rule: 'PUT pushes the last path param into the single target object (§3.2 example)',
    route: putProduct,
    body: '{"product":{"price":29}}',
    path: { sku: '24-MB01' },
    stored: '{"product":{"price":29,"sku":"24-MB01"},"sku":"24-MB01"}',
  },
  {
    rule: 'PUT overwrites the param in place when the object has it',
    route: putProduct,
    body: '{"product":{"sku":"OTHER","price":29}}',
    path: { sku: '24-MB01' },
    stored: '{"product":{"sku":"24-MB01","price":29},"sku":"24-MB01"}',
  },
  {
    rule: 'PUT with two top-level keys: param goes to the body root',
    route: putProduct,
    body: '{"product":{"price":29},"saveOptions":true}',
    path: { sku: 'A' },
    stored: '{"product":{"price":29},"saveOptions":true,"sku":"A"}',
  },
  {
    rule: 'PUT with a key not in lastParamTargets: param goes to the root',
    route: route('PUT', '/V1/products/{sku}', { lastParamTargets: [] }),
    body: '{"product":{"price":29}}',
    path: { sku: 'A' },
    stored: '{"product":{"price":29},"sku":"A"}',
  },
  {
    rule: 'PUT single key with a scalar value: param goes to the root',
    route: putProduct,
    body: '{"product":5}',
    path: { sku: 'A' },
    stored: '{"product":5,"sku":"A"}',
  },
  {
    rule: 'PUT single key with a list value (is_array): pushed into it',
    route: putProduct,
    body: '{"product":[1]}',
    path: { sku: 'A' },
    stored: '{"product":{"0":1,"sku":"A"},"sku":"A"}',
  },
  {
    rule: 'PUT single key with {} (an empty PHP array): pushed into it',
    route: putProduct,
    body: '{"product":{}}',
    path: { sku: 'A' },
    stored: '{"product":{"sku":"A"},"sku":"A"}',
  },
  {
    rule: 'PUT last path value "me": no override ("self apis")',
    route: putProduct,
    body: '{"product":{"price":1}}',
    path: { sku: 'me' },
    stored: '{"product":{"price":1},"sku":"me"}',
  },
  {
    rule: 'PUT camelCase param: snake_case key appended when the camel key is not set',
    route: route('PUT', '/V1/carts/{cartId}/items/{itemId}', { lastParamTargets: ['cartItem'] }),
    body: '{"cartItem":{"qty":1}}',
    path: { cartId: '5', itemId: '7' },
    stored: '{"cartItem":{"qty":1,"item_id":"7"},"cartId":"5","itemId":"7"}',
  },
  {
    rule: 'PUT camelCase param: the camel key is overwritten when set',
    route: route('PUT', '/V1/carts/{cartId}/items/{itemId}', { lastParamTargets: ['cartItem'] }),
    body: '{"cartItem":{"itemId":1,"qty":1}}',
    path: { cartId: '5', itemId: '7' },
    stored: '{"cartItem":{"itemId":"7","qty":1},"cartId":"5","itemId":"7"}',
  },
  {
    rule: 'PUT root substitution appends item_id; the merged itemId then collides with it and filterInputData drops it',
    route: route('PUT', '/V1/carts/{cartId}/items/{itemId}'),
    body: '{"qty":1,"note":"x"}',
    path: { cartId: '5', itemId: '7' },
    stored: '{"qty":1,"note":"x","item_id":"7","cartId":"5"}',
  },
  {
    rule: 'PUT applies filterInputData',
    route: putProduct,
    body: '{"product":{"custom_attributes":[],"customAttributes":[1]}}',
    path: { sku: 'A' },
    stored: '{"product":{"custom_attributes":[],"sku":"A"},"sku":"A"}',
  },
  {
    rule: 'POST does not filter (2.4.8 filters only PUT)',
    route: route('POST', '/V1/products'),
    body: '{"a_b":1,"aB":2}',
    path: {},
    stored: '{"a_b":1,"aB":2}',
  },
  {
    rule: 'POST: path params appended after body keys',
    route: route('POST', '/V1/customers/{customerId}/carts'),
    body: '{"x":1}',
    path: { customerId: '9' },
    stored: '{"x":1,"customerId":"9"}',
  },
  {
    rule: 'array_merge: a body key equal to a path param keeps its position, takes the URL value',
    route: route('POST', '/V1/customers/{customerId}/carts'),
    body: '{"customerId":"1","x":1}',
    path: { customerId: '9' },
    stored: '{"customerId":"9","x":1}',
  },
  {
    rule: 'array_merge renumbers integer keys of the body',
    route: route('POST', '/V1/x/{id}'),
    body: '{"5":"a","b":1,"7":"c"}',
    path: { id: '1' },
    stored: '{"0":"a","b":1,"1":"c","id":"1"}',
  },
  {
    rule: 'DELETE ignores the body (Magento)',
    route: route('DELETE', '/V1/cmsPage/{pageId}'),
    body: '{"x":1}',
    path: { pageId: '3' },
    stored: '{"pageId":"3"}',
  },
  {
    rule: 'DELETE whose route documents a body keeps it (our decision)',
    route: route('DELETE', '/V1/returns/{id}', { hasBody: true }),
    body: '{"reason":"x"}',
    path: { id: '3' },
    stored: '{"reason":"x","id":"3"}',
  },
  {
    rule: 'no body: path params only',
    route: route('POST', '/V1/x/{id}'),
    body: undefined,
    path: { id: '1' },
    stored: '{"id":"1"}',
  },
  {
    rule: 'no body, no params: empty array encodes as []',
    route: route('POST', '/V1/x'),
    body: undefined,
    path: {},
    stored: '[]',
  },
  {
    rule: 'bodyKey routes keep the whole body under that key',
    route: route('POST', '/V1/x/{id}', { bodyKey: 'items' }),
    body: '[1,2]',
    path: { id: '1' },
    stored: '{"items":[1,2],"id":"1"}',
  },
  {
    rule: 'declared query parameters join after path params',
    route: withQuery,
    body: '{"a":1}',
    path: { id: '1' },
    query: { mode: 'fast' },
    stored: '{"a":1,"id":"1","mode":"fast"}',
  },
  {
    rule: 'undeclared query parameters (partialAccept) never join',
    route: withQuery,
    body: '{"a":1}',
    path: { id: '1' },
    query: { partialAccept: 'true' },
    stored: '{"a":1,"id":"1"}',
  },
  {
    rule: 'scalar body is cast like PHP (array): [0 => value]',
    route: route('POST', '/V1/x'),
    body: '"s"',
    path: {},
    stored: '["s"]',
  },
  {
    rule: 'null body is cast to []',
    route: route('POST', '/V1/x/{id}'),
    body: 'null',
    path: { id: '1' },
    stored: '{"id":"1"}',
  },
  {
    rule: '__proto__ in the body is data',
    route: route('POST', '/V1/x'),
    body: '{"__proto__":{"a":1}}',
    path: {},
    stored: '{"__proto__":{"a":1}}',
  },
];

for (const row of ASYNC) {
  test(`async input: ${row.rule}`, () => {
    const body = row.body === undefined ? undefined : phpJsonDecode(row.body);
    const before = row.body === undefined ? '' : phpJsonEncode(body);
    const input = buildAsyncInput(row.route, body, row.path, row.query);
    assert.equal(phpJsonEncode(input), row.stored);
    if (row.body !== undefined) assert.equal(phpJsonEncode(body), before, 'the decoded body is not mutated');
  });
}

const bulkRoute = route('PUT', '/V1/products/{sku}', { lastParamTargets: ['product'] });

const BULK: ReadonlyArray<[string, string | undefined, ReadonlyArray<readonly [number, string]>]> = [
  [
    'each element is one input; URL placeholders never injected',
    '[{"product":{"sku":"a"}},{"product":{"sku":"b"}}]',
    [
      [0, '{"product":{"sku":"a"}}'],
      [1, '{"product":{"sku":"b"}}'],
    ],
  ],
  [
    'scalars and null are skipped, keeping indices',
    '[{"a":1},5,null,"x",{"b":2}]',
    [
      [0, '{"a":1}'],
      [4, '{"b":2}'],
    ],
  ],
  ['list elements are inputs too (is_array)', '[[1,2]]', [[0, '[1,2]']]],
  [
    'elements are filtered (filterInputData)',
    '[{"customer":{"first_name":"a","firstName":"b","FIRST_NAME":"c"}}]',
    [[0, '{"customer":{"first_name":"a"}}']],
  ],
  ['empty list: no inputs', '[]', []],
  ['empty body: no inputs', undefined, []],
  ['{} is an empty PHP array, a list: no inputs', '{}', []],
  ['an object with keys 0..n-1 is a PHP list', '{"0":{"a":1}}', [[0, '{"a":1}']]],
  // getBodyParams casts `(array)`, getRequestData's array_merge renumbers integer keys (checked with PHP 8.2).
  [
    'integer keys out of order are renumbered in order',
    '{"1":{"b":1},"0":{"a":1}}',
    [
      [0, '{"b":1}'],
      [1, '{"a":1}'],
    ],
  ],
  ['a scalar body is a one-element list: skipped', '5', []],
  ['null is an empty list', 'null', []],
];

for (const [rule, body, expected] of BULK) {
  test(`bulk input: ${rule}`, () => {
    const inputs = buildBulkInputs(bulkRoute, body === undefined ? undefined : phpJsonDecode(body));
    assert.deepEqual(
      inputs.map(({ index, input }) => [index, phpJsonEncode(input)]),
      expected,
    );
  });
}

for (const [rule, body] of [
  ['an object body', '{"product":{}}'],
  ['an object with a string key among integer ones', '{"0":{},"x":{}}'],
] as const) {
  test(`bulk input: ${rule} is 400 "Request body must be an array"`, () => {
    assert.throws(
      () => buildBulkInputs(bulkRoute, phpJsonDecode(body)),
      (e: unknown) => e instanceof WebapiError && e.definition === E.BULK_BODY_NOT_ARRAY && e.status === 400,
    );
  });
}

const FILTER: ReadonlyArray<readonly [string, string, string]> = [
  [
    'camelCase after snake_case is dropped',
    '{"custom_attributes":[1],"customAttributes":[2]}',
    '{"custom_attributes":[1]}',
  ],
  [
    'the first occurrence wins whichever style',
    '{"customAttributes":[2],"custom_attributes":[1]}',
    '{"customAttributes":[2]}',
  ],
  ['case-insensitive (ASCII)', '{"Name":1,"name":2,"NAME":3}', '{"Name":1}'],
  ['non-ASCII letters are not lower-cased (PHP 8 strtolower)', '{"É":1,"é":2}', '{"\\u00c9":1,"\\u00e9":2}'],
  ['recursive into nested objects', '{"a":{"b_c":1,"bC":2}}', '{"a":{"b_c":1}}'],
  ['recursive into list elements', '{"items":[{"x_y":1,"xY":2}]}', '{"items":[{"x_y":1}]}'],
  ['integer keys untouched', '{"1":"a","2":"b"}', '{"1":"a","2":"b"}'],
  ['"_5" normalises to 5 and collides with the int key 5', '{"5":"a","_5":"b"}', '{"5":"a"}'],
  ['"05" does not collide with 5', '{"5":"a","0_5":"b"}', '{"5":"a","0_5":"b"}'],
  ['only underscores removed, other separators kept', '{"a-b":1,"ab":2}', '{"a-b":1,"ab":2}'],
];

for (const [rule, input, expected] of FILTER) {
  test(`filterInputData: ${rule}`, () => {
    assert.equal(phpJsonEncode(filterInputData(phpJsonDecode(input) as PhpArray)), expected);
  });
}

test('Magento name conversions (SimpleDataObjectConverter)', () => {
  const rows: [string, string, string][] = [
    ['sku', 'sku', 'sku'],
    ['cartId', 'cart_id', 'cartId'],
    ['customer_id', 'customer_id', 'customerId'],
    ['ABC', 'a_bc', 'aBC'],
    ['entity_id', 'entity_id', 'entityId'],
  ];
  for (const [name, snake, camel] of rows) {
    assert.equal(camelCaseToSnakeCase(name), snake, name);
    assert.equal(snakeCaseToCamelCase(name), camel, name);
  }
});
