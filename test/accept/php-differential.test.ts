/**
 * Differential test against real PHP (installed by .ci/run; skipped with a message without it):
 * generated request bodies — tricky strings, numbers at and beyond the int64 and double ranges
 * (1e400 included), keys filterInputData folds together, duplicate keys, `{}` and numeric-key
 * objects, nesting around PHP's 512 levels, a BOM, invalid UTF-8, random corruptions — go through
 * our accept preparation and through test/accept/fixtures/magento-accept.php (Magento 2.4.8's
 * json_decode → input → serialized_data → Encryptor::hash). Every answer must agree: the same
 * data_hash per item, the same rejected items with the same message, the same decoding errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { routes } from '../../src/generated/routes.gen.js';
import { prepareRequest } from '../../src/accept/prepare.ts';
import { WebapiError } from '../../src/errors/catalogue.ts';
import { mulberry32 } from '../support/prng.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/magento-accept.php', import.meta.url));
const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CASES = 3000;

function phpInstalled(): boolean {
  try {
    execFileSync('php', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const hasPhp = phpInstalled();

const random = mulberry32(12);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const STRING_PARTS = [
  'a',
  'Z',
  '/',
  '\\"',
  '\\\\',
  '\\n',
  '\\t',
  '\\u0000',
  '\\u001f',
  'é',
  '\\u00e9',
  '😀',
  '\\ud83d\\ude00',
  '\u2028',
  "<>&'",
  '\u007f',
  ' ',
  '%',
  '\\/',
  '日本',
];
const NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '42',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '0.1',
  '10.0',
  '1e25',
  '1E2',
  '1.5e-7',
  '-0.0',
  '123456789012345678901234567890',
  '1e400',
  '-1e400',
  '5e-324',
  '1.7976931348623157e308',
  '0.30000000000000004',
  '100000000000000000000.0',
];
const KEYS = [
  'sku',
  'SKU',
  's_k_u',
  'Sku',
  'product',
  'custom_attributes',
  'customAttributes',
  'CUSTOM_ATTRIBUTES',
  '0',
  '1',
  '5',
  '-1',
  '01',
  '',
  '__proto__',
  'a_',
  '_a',
  'é',
  'price',
];

function str(): string {
  let s = '';
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) s += pick(STRING_PARTS);
  return `"${s}"`;
}

function value(depth: number): string {
  const r = random();
  if (depth > 4 || r < 0.35) {
    const scalar = random();
    if (scalar < 0.4) return str();
    if (scalar < 0.85) return pick(NUMBERS);
    return pick(['true', 'false', 'null']);
  }
  if (r < 0.6) {
    const n = Math.floor(random() * 4);
    return `[${Array.from({ length: n }, () => value(depth + 1)).join(',')}]`;
  }
  if (r < 0.65) return pick(['{}', '{"0":1,"1":2}', '{"1":1,"0":2}', '{"0":{}}']);
  const n = Math.floor(random() * 5);
  return `{${Array.from({ length: n }, () => `"${pick(KEYS)}":${value(depth + 1)}`).join(',')}}`;
}

function nested(levels: number): string {
  return '{"a":' + '['.repeat(levels - 1) + ']'.repeat(levels - 1) + '}';
}

function body(kind: 'async' | 'bulk'): Buffer {
  const r = random();
  if (r < 0.03) return Buffer.from(nested(505 + Math.floor(random() * 12)));
  if (r < 0.05) return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(kind === 'bulk' ? '[{}]' : '{}')]);
  const text =
    kind === 'bulk' ? `[${Array.from({ length: 1 + Math.floor(random() * 4) }, () => value(1)).join(',')}]` : value(0);
  const bytes = Buffer.from(text);
  if (r < 0.12 && bytes.length > 1) {
    // A corruption: a truncation, or one byte replaced by a random one (often invalid UTF-8).
    if (random() < 0.5) return bytes.subarray(0, Math.floor(random() * bytes.length));
    bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
  }
  return bytes;
}

const asyncRoute = routes.find((r) => r.operationId === 'PostV1Products')!;

type Answer = { error: string } | { items: [number, string | null, string | null][] };

function ours(kind: 'async' | 'bulk', bytes: Buffer): Answer {
  try {
    const prepared = prepareRequest({
      kind,
      route: asyncRoute,
      pathParams: {},
      query: {},
      body: bytes,
      store: { id: 1, code: 'default', explicit: true },
      validator: undefined,
      cryptKey: Buffer.from(KEY),
      partialAccept: false,
      maxBulkItems: 1_000_000,
      maxJsonDepth: 10_000,
    });
    const items: [number, string | null, string | null][] = [
      ...prepared.accepted.map((a): [number, string | null, string | null] => [a.index, a.hash, null]),
      ...prepared.rejected.map((r): [number, string | null, string | null] => [r.index, null, r.message]),
    ];
    return { items: items.sort((a, b) => a[0] - b[0]) };
  } catch (error) {
    if (error instanceof WebapiError) return { error: error.message };
    throw error;
  }
}

test(
  `data_hash and error answers agree with PHP on ${CASES} generated bodies`,
  { skip: hasPhp ? false : 'php not installed (.ci/run installs php-cli)' },
  () => {
    const cases = Array.from({ length: CASES }, (_, i) => {
      const kind: 'async' | 'bulk' = i % 2 === 0 ? 'async' : 'bulk';
      return { kind, bytes: body(kind) };
    });
    const input =
      cases.map((c) => JSON.stringify({ kind: c.kind, body: c.bytes.toString('base64'), key: KEY })).join('\n') + '\n';
    const output = execFileSync('php', [SCRIPT], { input, maxBuffer: 64 * 1024 * 1024 })
      .toString()
      .trim()
      .split('\n');
    assert.equal(output.length, cases.length);
    const seen = { errors: 0, rejected: 0, accepted: 0 };
    cases.forEach((c, i) => {
      const php = JSON.parse(output[i]!) as Answer;
      const mine = ours(c.kind, c.bytes);
      assert.deepEqual(mine, php, `case ${i} (${c.kind}): ${JSON.stringify(c.bytes.toString('latin1').slice(0, 300))}`);
      if ('error' in php) seen.errors++;
      else
        for (const item of php.items) {
          if (item[1] === null) seen.rejected++;
          else seen.accepted++;
        }
    });
    // The generator must reach every kind of answer, or the comparison proves less than it says.
    assert.ok(seen.errors > 100 && seen.rejected > 40 && seen.accepted > 1000, JSON.stringify(seen));
    console.log(`agreed with PHP: ${JSON.stringify(seen)}`);
  },
);
