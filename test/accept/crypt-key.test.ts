import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCryptKey, parseCryptKey } from '../../src/accept/crypt-key.ts';

test('parseCryptKey: Magento crypt/key rules', () => {
  const rows: [string, string, Buffer][] = [
    ['raw key: its bytes', 'a1b2c3d4e5f60718293a4b5c6d7e8f90', Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90')],
    ['several keys: the last one', 'oldkey1\nnewkey2', Buffer.from('newkey2')],
    ['any whitespace separates, trim first', '  k1 \t k2\r\n\n', Buffer.from('k2')],
    ['base64 prefix: decoded', 'base64AAECAw==', Buffer.from([0, 1, 2, 3])],
    ['base64 key after a raw one', 'legacy base64AAECAw==', Buffer.from([0, 1, 2, 3])],
    ['raw key before a base64 one is ignored', 'base64AAECAw== legacy', Buffer.from('legacy')],
  ];
  for (const [rule, config, expected] of rows) assert.deepEqual(parseCryptKey(config), expected, rule);
});

test('parseCryptKey: an empty value is an error', () => {
  for (const config of ['', '   \n']) assert.throws(() => parseCryptKey(config));
});

test('generateCryptKey: 2.4.7+ format, 32 random bytes', () => {
  const a = generateCryptKey();
  const b = generateCryptKey();
  assert.match(a, /^base64[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(a, b);
  assert.equal(parseCryptKey(a).length, 32);
});
