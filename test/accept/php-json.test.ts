/**
 * PHP-faithful JSON. Expected outputs come from real PHP 8.2.36 (`apt-get install php-cli`,
 * serialize_precision -1): the tables in php-json.vectors.ts, plus 20,000 random doubles whose
 * json_encode matched PHP byte for byte when this was written. The "real PHP" test below re-runs the
 * tables through `php` when it is on PATH and is skipped otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  PhpArray,
  PhpFloat,
  PhpJsonDepthError,
  PhpJsonEncodeError,
  PhpJsonSyntaxError,
  formatPhpFloat,
  phpJsonDecode,
  phpJsonDecodeBytes,
  phpJsonEncode,
  toJs,
} from '../../src/accept/php-json.ts';
import { DEPTHS, INVALID, ROUND_TRIPS } from './php-json.vectors.ts';

const roundTrip = (json: string): string => phpJsonEncode(phpJsonDecode(json));

for (const [rule, input, expected] of ROUND_TRIPS) {
  test(`round trip: ${rule}`, () => assert.equal(roundTrip(input), expected));
}

for (const [rule, input, phpMessage] of INVALID) {
  test(`invalid: ${rule}`, () => {
    assert.throws(
      () => phpJsonDecode(input),
      (e: unknown) => e instanceof PhpJsonSyntaxError && e instanceof SyntaxError && e.message === phpMessage,
    );
  });
}

for (const [rule, input, depth, ok] of DEPTHS) {
  test(`depth: ${rule}`, () => {
    if (ok) assert.doesNotThrow(() => phpJsonDecode(input, { maxDepth: depth }));
    else
      assert.throws(
        () => phpJsonDecode(input, { maxDepth: depth }),
        (e: unknown) => e instanceof PhpJsonDepthError && e.maxDepth === depth && e.phpCode === 'JSON_ERROR_DEPTH',
      );
  });
}

test('depth: the default is 512, as PHP', () => {
  assert.doesNotThrow(() => phpJsonDecode('['.repeat(511) + ']'.repeat(511)));
  assert.throws(() => phpJsonDecode('['.repeat(512) + ']'.repeat(512)), PhpJsonDepthError);
});

const hasPhp = (() => {
  try {
    execFileSync('php', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('real PHP agrees with every vector', { skip: hasPhp ? false : 'php not installed' }, () => {
  const script = `$cases = json_decode(file_get_contents('php://stdin'), true); $out = [];
    foreach ($cases as [$in, $depth]) { $v = json_decode($in, true, $depth); $e = json_last_error();
      $out[] = [$e ? null : json_encode($v), $e ? json_last_error_msg() : null]; }
    echo json_encode($out);`;
  const cases = [
    ...ROUND_TRIPS.map(([, input]) => [input, 512]),
    ...INVALID.map(([, input]) => [input, 512]),
    ...DEPTHS.map(([, input, depth]) => [input, depth]),
  ];
  const results = JSON.parse(execFileSync('php', ['-r', script], { input: JSON.stringify(cases) }).toString()) as [
    string | null,
    string | null,
  ][];
  let i = 0;
  for (const [rule, , expected] of ROUND_TRIPS) assert.equal(results[i++]?.[0], expected, rule);
  for (const [rule, , message] of INVALID) assert.equal(results[i++]?.[1], message, rule);
  for (const [rule, , , ok] of DEPTHS) assert.equal(results[i++]?.[0] !== null, ok, rule);
});

test('decode: the model keeps PHP types', () => {
  const rows: [string, string, unknown][] = [
    ['int', '29', 29],
    ['-0 is int 0', '-0', 0],
    ['non-integral float is a number', '29.99', 29.99],
    ['integral float is a PhpFloat', '10.0', new PhpFloat(10)],
    ['-0.0 is a PhpFloat(-0)', '-0.0', new PhpFloat(-0)],
    ['int beyond 2^53 is a bigint', '9007199254740993', 9007199254740993n],
    ['int beyond int64 is a float', '9223372036854775808', new PhpFloat(2 ** 63)],
    ['string', '"a"', 'a'],
  ];
  for (const [rule, json, expected] of rows) assert.deepEqual(phpJsonDecode(json), expected, rule);
  assert.ok(Object.is((phpJsonDecode('-0.0') as PhpFloat).value, -0));
  assert.ok(Object.is(phpJsonDecode('-0'), 0));
});

test('decode: objects keep key order and first position of duplicates', () => {
  const a = phpJsonDecode('{"b":1,"a":2,"b":3,"__proto__":4}') as PhpArray;
  assert.deepEqual(a.keys(), ['b', 'a', '__proto__']);
  assert.deepEqual(a.values, [3, 2, 4]);
  assert.equal(a.fromList, false);
  assert.equal((phpJsonDecode('[1]') as PhpArray).fromList, true);
});

test('decode: duplicates in a large object (indexed path)', () => {
  const keys = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`);
  const a = phpJsonDecode(`{${keys.join(',')},"k3":"x","k39":"y"}`) as PhpArray;
  assert.equal(a.size, 40);
  assert.equal(a.get('k3'), 'x');
  assert.equal(a.keyAt(39), 'k39');
  assert.equal(a.get('k39'), 'y');
});

test('decode: a raw lone surrogate in the text stands for invalid UTF-8', () => {
  assert.throws(
    () => phpJsonDecode('"\ud800"'),
    (e: unknown) => (e as PhpJsonSyntaxError).phpCode === 'JSON_ERROR_UTF8',
  );
  assert.throws(
    () => phpJsonDecode('"\\n\udc00"'),
    (e: unknown) => (e as PhpJsonSyntaxError).phpCode === 'JSON_ERROR_UTF8',
  );
  assert.equal(phpJsonDecode('"\ud83d\ude00"'), '😀');
});

test('decodeBytes: strict UTF-8, BOM kept (so rejected, as PHP)', () => {
  const rows: [string, Uint8Array, unknown][] = [
    ['valid UTF-8', Buffer.from('{"a":"Café"}'), 'Café'],
    ['invalid UTF-8 byte', Uint8Array.from([0x22, 0xff, 0x22]), 'JSON_ERROR_UTF8'],
    ['overlong encoding', Uint8Array.from([0x22, 0xc0, 0xaf, 0x22]), 'JSON_ERROR_UTF8'],
    ['BOM', Buffer.from('\ufeff[1]'), 'JSON_ERROR_SYNTAX'],
  ];
  for (const [rule, bytes, expected] of rows) {
    if (expected === 'Café') assert.equal((phpJsonDecodeBytes(bytes) as PhpArray).get('a'), 'Café', rule);
    else
      assert.throws(
        () => phpJsonDecodeBytes(bytes),
        (e: unknown) => (e as PhpJsonSyntaxError).phpCode === expected,
        rule,
      );
  }
});

test('toJs: plain values for validation and handlers', () => {
  const rows: [string, string, unknown][] = [
    ['empty object stays {}', '{}', {}],
    ['empty list stays []', '[]', []],
    ['list-keyed object stays an object', '{"0":"a","1":"b"}', { 0: 'a', 1: 'b' }],
    ['lists stay arrays', '[1,{"a":[2]}]', [1, { a: [2] }]],
    ['floats become numbers', '[10.0,29.99,-0.0]', [10, 29.99, -0]],
    ['bigint ints become numbers', '[9007199254740993]', [9007199254740992]],
  ];
  for (const [rule, json, expected] of rows) assert.deepEqual(toJs(phpJsonDecode(json)), expected, rule);
});

test('toJs: __proto__ and constructor are own data properties, never prototypes', () => {
  const value = toJs(phpJsonDecode('{"__proto__":{"polluted":true},"constructor":{"prototype":1}}')) as Record<
    string,
    unknown
  >;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.ok(Object.hasOwn(value, '__proto__'));
  assert.ok(Object.hasOwn(value, 'constructor'));
  assert.deepEqual(Object.keys(value), ['__proto__', 'constructor']);
  assert.equal((value as { polluted?: unknown }).polluted, undefined);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  assert.deepEqual(
    JSON.parse(JSON.stringify(value)),
    JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":1}}'),
  );
});

test('encode: plain JS values', () => {
  const rows: [string, unknown, string][] = [
    ['object', { a: 1, b: 'x' }, '{"a":1,"b":"x"}'],
    ['empty object stays {}', {}, '{}'],
    ['array', [1, 'a', null, true], '[1,"a",null,true]'],
    ['integral number is an int', 10, '10'],
    ['-0 number is int 0', -0, '0'],
    ['non-integral number is a float', 29.99, '29.99'],
    ['large integral number below 2^63 is an int', 2 ** 60, '1152921504606846976'],
    ['integral number at 2^63 is a float', 2 ** 63, '9.223372036854776e+18'],
    ['tiny float', 1e-7, '1.0e-7'],
    ['bigint', 9007199254740993n, '9007199254740993'],
    ['undefined properties skipped, undefined in arrays null', { a: undefined, b: [undefined] }, '{"b":[null]}'],
    ['toJSON honoured (Date)', new Date(0), '"1970-01-01T00:00:00.000Z"'],
    ['PhpFloat', new PhpFloat(10), '10'],
    ['non-ASCII and slash', { url: 'https://x/é' }, '{"url":"https:\\/\\/x\\/\\u00e9"}'],
    ['key escaping', { 'a/"b': 1 }, '{"a\\/\\"b":1}'],
    [
      'PhpArray built in code',
      PhpArray.object([
        ['b', 1],
        [0, 2],
      ]),
      '{"b":1,"0":2}',
    ],
    [
      'PhpArray with keys 0..n-1 is a list',
      PhpArray.object([
        [0, 'a'],
        ['1', 'b'],
      ]),
      '["a","b"]',
    ],
  ];
  for (const [rule, value, expected] of rows) assert.equal(phpJsonEncode(value), expected, rule);
});

test('encode: failures json_encode has', () => {
  const rows: [string, unknown, string][] = [
    ['INF', Infinity, 'JSON_ERROR_INF_OR_NAN'],
    ['NAN', [NaN], 'JSON_ERROR_INF_OR_NAN'],
    ['lone high surrogate (invalid UTF-8 in PHP)', 'a\ud800', 'JSON_ERROR_UTF8'],
    ['lone low surrogate', '\udc00b', 'JSON_ERROR_UTF8'],
  ];
  for (const [rule, value, code] of rows)
    assert.throws(
      () => phpJsonEncode(value),
      (e: unknown) => e instanceof PhpJsonEncodeError && e.phpCode === code,
      rule,
    );
});

test('encode: preserveZeroFraction option (PHP JSON_PRESERVE_ZERO_FRACTION; Magento does not use it)', () => {
  const rows: [string, string][] = [
    ['10.0', '10.0'],
    ['-0.0', '-0.0'],
    ['1e25', '1.0e+25'],
    ['29.99', '29.99'],
    ['10', '10'],
  ];
  for (const [json, expected] of rows)
    assert.equal(phpJsonEncode(phpJsonDecode(json), { preserveZeroFraction: true }), expected, json);
});

test('formatPhpFloat: precision 14 with E (PHP string conversion)', () => {
  const rows: [number, string][] = [
    [0.1 + 0.2, '0.3'],
    [1e15, '1.0E+15'],
    [1e-5, '1.0E-5'],
    [123456789.12345679, '123456789.12346'],
    [29.99, '29.99'],
  ];
  for (const [value, expected] of rows) assert.equal(formatPhpFloat(value, 14, 'E'), expected, String(value));
});
