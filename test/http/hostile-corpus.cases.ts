/**
 * The hostile corpus: malformed and hostile requests with the answer each must get (status and
 * Magento-format body), against a server started with {@link CORPUS_LIMITS}. Used by the corpus's
 * own test (test/http/hostile-corpus.e2e.test.ts) and by validate-only's, which must answer every
 * case exactly as accept does (test/accept/validate-only.e2e.test.ts).
 */
import type { TestServer } from '../support/server.ts';

/** The limits the cases' answers assume. */
export const CORPUS_LIMITS = { maxBulkItems: 5, maxBodyBytes: 8192, maxJsonDepth: 8 };

export interface Case {
  name: string;
  method?: string;
  path?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** null: no Authorization header. */
  token?: string | null;
  status: number;
  message: string;
  parameters?: unknown;
}

export const PRODUCTS = '/rest/default/async/V1/products';
export const BULK = '/rest/default/async/bulk/V1/products';
const DECODING = { status: 400, message: 'Decoding error.' };
const NESTING = {
  status: 400,
  message: 'The request data is nested deeper than the allowed %max levels.',
  parameters: { max: 8 },
};
const VALID = '{"product":{"sku":"corpus","price":10,"name":"Corpus \\u00e9"}}';

function nested(levels: number): string {
  return '{"product":{"sku":"a","custom_attributes":' + '['.repeat(levels - 2) + ']'.repeat(levels - 2) + '}}';
}

export const cases: Case[] = [
  // Every proper prefix of a valid body is invalid JSON (an unterminated string included).
  ...Array.from({ length: VALID.length - 1 }, (_, n) => ({
    name: `truncated after ${n + 1} characters`,
    body: VALID.slice(0, n + 1),
    ...DECODING,
  })),
  // Unescaped control characters in a string (PHP: JSON_ERROR_CTRL_CHAR).
  ...Array.from({ length: 32 }, (_, c) => ({
    name: `control character 0x${c.toString(16).padStart(2, '0')} inside a string`,
    body: `{"product":{"sku":"a${String.fromCharCode(c)}b"}}`,
    ...DECODING,
  })),
  // Bytes that are not UTF-8.
  ...[
    ['a lone continuation byte', [0x80]],
    ['0xff', [0xff]],
    ['an overlong NUL', [0xc0, 0x80]],
    ['an overlong slash', [0xe0, 0x80, 0xaf]],
    ['a UTF-8-encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['Latin-1 é', [0xe9]],
  ].map(([what, bytes]) => ({
    name: `invalid UTF-8: ${what as string}`,
    body: Buffer.concat([Buffer.from('{"product":{"sku":"'), Buffer.from(bytes as number[]), Buffer.from('"}}')]),
    ...DECODING,
  })),
  // Escapes PHP refuses.
  ...['\\ud800', '\\udfff', '\\ud800x', '\\ud800\\u0041', '\\x41', '\\u12', "\\'", '\\U0041'].map((e) => ({
    name: `string escape ${e}`,
    body: `{"product":{"sku":"${e}"}}`,
    ...DECODING,
  })),
  // Grammar PHP refuses.
  ...[
    "{'product':{}}",
    '{product:{}}',
    '{"product":{},}',
    '[1,]',
    '{"product":NaN}',
    '{"product":Infinity}',
    '{"product":01}',
    '{"product":1.}',
    '{"product":.5}',
    '{"product":+1}',
    '{"product":0x10}',
    '{"product":tru}',
    '{"product":nul}',
    '{"product":{}} {}',
    '{"product":{}}garbage',
    '\u00a0{"product":{}}',
    '\f{"product":{}}',
    '\v{"product":{}}',
    '/* comment */{"product":{}}',
    '{"product":{}}//',
    '"\\u0000',
    '{"a":1 "b":2}',
    '{"a"::1}',
    '[',
    ']',
    '}',
    ' ',
  ].map((body) => ({ name: `not JSON: ${JSON.stringify(body)}`, body, ...DECODING })),
  // A UTF-8 BOM: PHP's json_decode fails, whatever follows.
  ...['{"product":{"sku":"a"}}', '[]', '{}'].map((json) => ({
    name: `UTF-8 BOM before ${json}`,
    body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]),
    ...DECODING,
  })),
  {
    name: 'UTF-8 BOM before a bulk',
    path: BULK,
    body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"product":{"sku":"a"}}]')]),
    ...DECODING,
  },
  // Nesting: our limit (8) with its message, PHP's 512 levels a decoding error.
  ...[9, 10, 64, 511].map((levels) => ({ name: `${levels} levels of nesting`, body: nested(levels), ...NESTING })),
  ...[512, 513, 600, 2000].map((levels) => ({
    name: `${levels} levels of nesting`,
    body: nested(levels),
    ...DECODING,
  })),
  {
    name: '600 levels of nesting in a string do not count',
    body: `{"product":{"sku":"${'['.repeat(600)}","custom_attributes":${'['.repeat(9)}${']'.repeat(9)}}}`,
    ...NESTING,
  },
  // Every element counts toward maxBulkItems, objects or not.
  ...['0', 'null', '"x"', '[]', '{}', '{"product":{"sku":"a"}}'].map((element) => ({
    name: `six ${element} elements in a bulk of at most five`,
    path: BULK,
    body: `[${Array(6).fill(element).join(',')}]`,
    status: 400,
    message: 'Maximum items of type "%type" is %max',
    parameters: { type: 'PostV1Products', max: 5 },
  })),
  {
    name: 'a long list of zeros is refused before it is parsed to the end (the tail is not even JSON)',
    path: BULK,
    body: '[' + '0,'.repeat(3000) + '{{{{',
    status: 400,
    message: 'Maximum items of type "%type" is %max',
    parameters: { type: 'PostV1Products', max: 5 },
  },
  // Bulk bodies that are not lists.
  ...['{"product":{"sku":"a"}}', '{"0":{"product":{}},"x":{}}', '{"":[]}'].map((body) => ({
    name: `bulk body ${body}`,
    path: BULK,
    body,
    status: 400,
    message: 'Request body must be an array',
  })),
  // Content-Type.
  ...['', '   '].map((ct) => ({
    name: `Content-Type ${JSON.stringify(ct)}`,
    body: VALID,
    headers: { 'Content-Type': ct },
    status: 400,
    message: 'Content-Type header is empty.',
  })),
  ...[
    'application/json;;',
    'application/json; charset',
    'json; x',
    '; charset=utf-8',
    'application/json charset=utf-8',
  ].map((ct) => ({
    name: `Content-Type ${JSON.stringify(ct)}`,
    body: VALID,
    headers: { 'Content-Type': ct },
    status: 400,
    message: 'Content-Type header is invalid.',
  })),
  ...['application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=utf8'].map(
    (ct) => ({
      name: `Content-Type ${JSON.stringify(ct)}`,
      body: VALID,
      headers: { 'Content-Type': ct },
      status: 400,
      message: 'UTF-8 is the only supported charset.',
    }),
  ),
  ...['text/plain', 'application/xml', 'application/x-www-form-urlencoded'].map((ct) => ({
    name: `Content-Type ${ct}`,
    body: VALID,
    headers: { 'Content-Type': ct },
    status: 400,
    message: 'Server cannot understand Content-Type HTTP header media type %1',
    parameters: [ct],
  })),
  // Size.
  {
    name: 'a body over maxBodyBytes',
    body: JSON.stringify({ product: { sku: 'a', name: 'x'.repeat(9000) } }),
    status: 413,
    message: 'The request body is larger than the allowed %max bytes.',
    parameters: { max: 8192 },
  },
  // Idempotency-Key.
  ...['é', 'a b', 'x'.repeat(256), 'tab\there'].map((key) => ({
    name: `Idempotency-Key ${JSON.stringify(key.slice(0, 12))}`,
    body: VALID,
    headers: { 'Idempotency-Key': key },
    status: 400,
    message: 'The Idempotency-Key header is invalid: %reason',
    parameters: { reason: 'use 1 to 255 printable ASCII characters' },
  })),
  // Validation: parameters never contradict themselves.
  {
    name: 'custom_attributes as a non-empty object where a list is expected',
    body: '{"product":{"sku":"a","custom_attributes":{"x":1}}}',
    status: 400,
    message: 'Invalid value of "%value" provided for the %fieldName field.',
    parameters: { value: 'array', fieldName: 'custom_attributes' },
  },
  {
    name: 'price as a string',
    body: '{"product":{"sku":"a","price":"cheap"}}',
    status: 400,
    message: 'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
    parameters: { value: 'cheap', type: 'float' },
  },
  {
    name: 'product as a list',
    body: '{"product":[1]}',
    status: 400,
    message: 'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
    parameters: { value: 'array', type: 'object' },
  },
  {
    name: 'missing product',
    body: '{"saveOptions":true}',
    status: 400,
    message: '"%fieldName" is required. Enter and try again.',
    parameters: { fieldName: 'product' },
  },
  ...['wrong_attribute', '__proto__', 'constructor', 'prototype'].map((field) => ({
    name: `unknown field ${field} in product`,
    body: `{"product":{"sku":"a","${field}":1}}`,
    status: 400,
    message: '"%fieldName" is not supported. Correct the field name and try again.',
    parameters: { fieldName: field },
  })),
  // Routing and methods.
  ...['PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'MKCOL'].map((method) => ({
    name: `${method} on an async route`,
    method,
    body: method === 'PATCH' || method === 'PROPFIND' ? VALID : undefined,
    status: 405,
    message: `The ${method} HTTP method is not supported.`,
  })),
  ...[
    '/rest/nope/async/V1/products',
    '/rest/default/async/',
    '/rest/default/asyncV1/products',
    '/rest/default/async/bulk/',
  ].map((path) => ({
    name: `path ${path}`,
    path,
    body: VALID,
    status: 400,
    message: 'Specified request cannot be processed.',
  })),
  ...[
    '/rest/default/async/V1/nothing',
    '/rest/default/async/V1/products/a/b/c',
    '/rest/default/async/bulk/V1/products/abc',
  ].map((path) => ({
    name: `path ${path}`,
    path,
    body: VALID,
    status: 404,
    message: 'Request does not match any route.',
  })),
  // Authorization.
  ...[
    null,
    'Bearer',
    'Bearer ',
    'Bearer x',
    'Basic dXNlcjpwYXNz',
    'Bearer ' + 'a'.repeat(4000),
    'Bearer \tx',
    'Token x',
  ].map((authorization) => ({
    name: `Authorization ${JSON.stringify(authorization?.slice(0, 20) ?? null)}`,
    body: VALID,
    token: null,
    headers: authorization === null ? {} : { Authorization: authorization },
    status: 401,
    message: "The consumer isn't authorized to access %resources.",
    parameters: { resources: 'Magento_Catalog::products' },
  })),
  // Status API: stored input is not searchable, pages are bounded.
  ...['like', 'eq', 'neq', 'in', 'gt'].flatMap((conditionType) =>
    ['serialized_data', 'result_serialized_data'].map((field) => ({
      name: `search ${conditionType} on ${field}`,
      method: 'GET',
      path: `/rest/V1/bulk?searchCriteria[filterGroups][0][filters][0][field]=${field}&searchCriteria[filterGroups][0][filters][0][value]=%25pass%25&searchCriteria[filterGroups][0][filters][0][conditionType]=${conditionType}`,
      status: 400,
      message: 'Cannot use "%conditionType" on "%field": the field holds stored input.',
      parameters: { conditionType, field },
    })),
  ),
  ...[
    [300, 334],
    [300, 1_000_000_000],
    [1, 100_001],
  ].map(([pageSize, currentPage]) => ({
    name: `search page ${currentPage} of ${pageSize}`,
    method: 'GET',
    path: `/rest/V1/bulk?searchCriteria[pageSize]=${pageSize}&searchCriteria[currentPage]=${currentPage}`,
    status: 400,
    message: 'The search criteria reach too far: currentPage × pageSize may be at most %max.',
    parameters: { max: 100000 },
  })),
];

/** Sends a case as written (`query` appended to its path: `validateOnly=true`). */
export async function sendCase(
  server: TestServer,
  c: Case,
  query?: string,
): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (c.token !== null) headers.Authorization = `Bearer ${c.token ?? server.token}`;
  if (c.body !== undefined) headers['Content-Type'] = 'application/json';
  Object.assign(headers, c.headers);
  const path = c.path ?? PRODUCTS;
  const res = await fetch(server.url + path + (query ? (path.includes('?') ? '&' : '?') + query : ''), {
    method: c.method ?? 'POST',
    headers,
    body: c.body,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
