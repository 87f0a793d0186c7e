/**
 * serialized_data and data_hash (source notes §4). Expected serialized_data strings were produced
 * by real PHP 8.2 (`json_encode(['entity_id'=>null,'entity_link'=>'','meta_information'=>
 * json_encode(json_decode($body, true)),'store_id'=>'0'])`); expected hashes were computed
 * independently with `printf '%s' "$SERIALIZED" | openssl dgst -sha256 -hmac KEY` (raw key) and
 * `openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f` (the base64 key's bytes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataHash, serializedData } from '../../src/accept/data-hash.ts';
import { parseCryptKey } from '../../src/accept/crypt-key.ts';
import { phpJsonDecode } from '../../src/accept/php-json.ts';
import { buildAsyncInput } from '../../src/accept/input.ts';
import type { Route } from '../../src/routes/types.ts';

const RAW_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const BASE64_KEY = 'base64AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='; // bytes 0x00..0x1f

const putProduct: Route = {
  method: 'PUT',
  path: '/V1/products/{sku}',
  template: '/V1/products/:sku',
  asyncPath: '/async/V1/products/{sku}',
  bulkPath: '/async/bulk/V1/products/bySku',
  topic: 'async.V1.products.sku.PUT',
  entity: 'products',
  operationId: 'putV1ProductsSku',
  specOperationId: null,
  pathParams: ['sku'],
  parameters: [{ name: 'sku', in: 'path', required: true, schema: { type: 'string' } }],
  hasBody: true,
  bodyKey: null,
  lastParamTargets: ['product'],
  acl: ['Magento_Catalog::products'],
};

test('source notes §4 worked example, end to end (PUT /V1/products/24-MB01, store "1")', () => {
  const input = buildAsyncInput(putProduct, phpJsonDecode('{"product":{"price":29}}'), { sku: '24-MB01' });
  const serialized = serializedData(input, '1');
  assert.equal(
    serialized,
    '{"entity_id":null,"entity_link":"","meta_information":"{\\"product\\":{\\"price\\":29,\\"sku\\":\\"24-MB01\\"},\\"sku\\":\\"24-MB01\\"}","store_id":"1"}',
  );
  assert.equal(
    dataHash(serialized, parseCryptKey(RAW_KEY)),
    'c7f905d336fb96fd73ac8453ce139050998ab2ea77ab9aa9edc695359c501f8f',
  );
});

const VECTORS: ReadonlyArray<{
  rule: string;
  body: string;
  store: string;
  serialized: string;
  key: string;
  hash: string;
}> = [
  {
    rule: 'non-ASCII (é ☕ 😀), "/" in a URL, float 10.0 → 10, 29.99, {} → [], store "0" for all',
    body: '{"product":{"sku":"café-☕","name":"Café ☕ 😀","price":10.0,"special_price":29.99,"url":"https://example.com/p/1","extension_attributes":{}}}',
    store: '0',
    serialized:
      '{"entity_id":null,"entity_link":"","meta_information":"{\\"product\\":{\\"sku\\":\\"caf\\\\u00e9-\\\\u2615\\",\\"name\\":\\"Caf\\\\u00e9 \\\\u2615 \\\\ud83d\\\\ude00\\",\\"price\\":10,\\"special_price\\":29.99,\\"url\\":\\"https:\\\\\\/\\\\\\/example.com\\\\\\/p\\\\\\/1\\",\\"extension_attributes\\":[]}}","store_id":"0"}',
    key: RAW_KEY,
    hash: 'ccabfe5ad652bb2a517424064f505c4e69eb692ac41f546d4f93594543069051',
  },
  {
    rule: "list-keyed object → list; < > & ' unescaped; custom store id",
    body: '{"pageId":"1","tags":{"0":"a","1":"b"},"note":"<b>&\'</b>"}',
    store: '2',
    serialized:
      '{"entity_id":null,"entity_link":"","meta_information":"{\\"pageId\\":\\"1\\",\\"tags\\":[\\"a\\",\\"b\\"],\\"note\\":\\"<b>&\'<\\\\\\/b>\\"}","store_id":"2"}',
    key: RAW_KEY,
    hash: 'eefc87c56b533044d97be45ffb9a9064d986c5155be97402431fc0b98bd7139b',
  },
  {
    rule: 'base64-prefixed (2.4.7+) key is decoded before use',
    body: '{"product":{"sku":"café-☕","name":"Café ☕ 😀","price":10.0,"special_price":29.99,"url":"https://example.com/p/1","extension_attributes":{}}}',
    store: '0',
    serialized:
      '{"entity_id":null,"entity_link":"","meta_information":"{\\"product\\":{\\"sku\\":\\"caf\\\\u00e9-\\\\u2615\\",\\"name\\":\\"Caf\\\\u00e9 \\\\u2615 \\\\ud83d\\\\ude00\\",\\"price\\":10,\\"special_price\\":29.99,\\"url\\":\\"https:\\\\\\/\\\\\\/example.com\\\\\\/p\\\\\\/1\\",\\"extension_attributes\\":[]}}","store_id":"0"}',
    key: BASE64_KEY,
    hash: 'e10e1b3a18afcb7620056ee940e6bb1408104ce8926d24d6af962a6ad2196a46',
  },
];

for (const v of VECTORS) {
  test(`vector: ${v.rule}`, () => {
    const serialized = serializedData(phpJsonDecode(v.body), v.store);
    assert.equal(serialized, v.serialized);
    assert.equal(dataHash(serialized, parseCryptKey(v.key)), v.hash);
  });
}

test('serializedData: store id rules', () => {
  const rows: [string, string | number | null, string][] = [
    ['string id', '1', '{"entity_id":null,"entity_link":"","meta_information":"[]","store_id":"1"}'],
    [
      'number id is still a JSON string',
      0,
      '{"entity_id":null,"entity_link":"","meta_information":"[]","store_id":"0"}',
    ],
    [
      'null leaves store_id out (no store resolved)',
      null,
      '{"entity_id":null,"entity_link":"","meta_information":"[]"}',
    ],
  ];
  for (const [rule, store, expected] of rows) assert.equal(serializedData(phpJsonDecode('{}'), store), expected, rule);
});

test('dataHash: 64 lowercase hex chars', () => {
  assert.match(dataHash('x', Buffer.from('k')), /^[0-9a-f]{64}$/);
});
