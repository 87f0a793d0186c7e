/** Secret fields sealed at rest (AES-256-GCM under a key derived from the crypt key) and opened for the handler. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERASED_SECRET, SECRET_ENVELOPE, openSecrets, sealSecrets, secretFieldSet } from '../../src/accept/secrets.ts';
import { phpJsonDecode, phpJsonEncode, PhpArray } from '../../src/accept/php-json.ts';
import { OperationError } from '../../src/plugin.ts';

const KEY = Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90');
const NAMES = secretFieldSet(['api_key']);

function sealed(json: string): { model: PhpArray; out: PhpArray; text: string } {
  const model = phpJsonDecode(json) as PhpArray;
  const out = sealSecrets(model, NAMES, KEY);
  return { model, out, text: phpJsonEncode(out) };
}

test('password and route-marked fields are sealed at any depth, case and _ ignored; other values untouched', () => {
  const { text } = sealed(
    '{"customer":{"email":"a@b.c","PassWord":"first~secret"},"password":"second~secret","apiKey":["third~secret"],"items":[{"pass_word":3}],"name":"password"}',
  );
  const parsed = JSON.parse(text);
  assert.equal(parsed.customer.email, 'a@b.c');
  assert.equal(parsed.name, 'password', 'a value that says password is not a secret field');
  for (const v of [parsed.customer.PassWord, parsed.password, parsed.apiKey, parsed.items[0].pass_word]) {
    assert.equal(typeof v, 'string');
    assert.ok(v.startsWith(SECRET_ENVELOPE));
  }
  // `~` is never in base64url: no envelope can contain these by chance.
  assert.ok(!text.includes('~secret'));
  // Opening gives back the exact values, types included.
  assert.deepEqual(openSecrets(parsed, KEY), {
    customer: { email: 'a@b.c', PassWord: 'first~secret' },
    password: 'second~secret',
    apiKey: ['third~secret'],
    items: [{ pass_word: 3 }],
    name: 'password',
  });
});

test('an input without secrets is returned as it is (no copy), and so are its opened arguments', () => {
  const { model, out } = sealed('{"product":{"sku":"a"},"password":null}');
  assert.equal(out, model, 'null is not sealed: there is nothing to hide');
  const args = { product: { sku: 'a' } };
  assert.equal(openSecrets(args, KEY), args);
});

test('every seal is different (random IV); a wrong key or a changed byte fails to open', () => {
  const a = JSON.parse(sealed('{"password":"same"}').text).password;
  const b = JSON.parse(sealed('{"password":"same"}').text).password;
  assert.notEqual(a, b);
  assert.throws(() => openSecrets(a, Buffer.from('another key')));
  // A character inside the IV/tag region (whole bytes, no padding bits): any change must be caught.
  const at = SECRET_ENVELOPE.length + 20;
  const flipped = a.slice(0, at) + (a[at] === 'A' ? 'B' : 'A') + a.slice(at + 1);
  assert.throws(() => openSecrets(flipped, KEY));
});

test('an erased secret fails the operation with a message saying so', () => {
  assert.throws(
    () => openSecrets({ password: ERASED_SECRET }, KEY),
    (e: unknown) => e instanceof OperationError && /erased/.test(e.message),
  );
});
