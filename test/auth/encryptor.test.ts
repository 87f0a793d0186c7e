import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createEncryptor, encryptionKeys } from '../../src/auth/encryptor.ts';

const OLD_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const NEW_KEY = `base64${Buffer.alloc(32, 7).toString('base64')}`;

test('encrypts in Magento format and decrypts what it encrypted', () => {
  const enc = createEncryptor(OLD_KEY);
  const value = enc.encrypt('s3cret ✓');
  assert.match(value, /^0:3:[A-Za-z0-9+/]+=*$/);
  assert.notEqual(enc.encrypt('s3cret ✓'), value, 'a fresh nonce each time');
  assert.equal(enc.decrypt(value), 's3cret ✓');
});

test('a rotated crypt key still decrypts values of the older key and encrypts with the newest', () => {
  const before = createEncryptor(OLD_KEY).encrypt('kept');
  const rotated = createEncryptor(`${OLD_KEY}\n${NEW_KEY}`);
  assert.equal(rotated.decrypt(before), 'kept');
  assert.match(rotated.encrypt('x'), /^1:3:/);
});

test('tampered values, unknown key versions and other ciphers are refused', () => {
  const enc = createEncryptor(OLD_KEY);
  const value = enc.encrypt('secret');
  const raw = Buffer.from(value.slice(4), 'base64');
  raw[raw.length - 1]! ^= 1;
  const cases = [`0:3:${raw.toString('base64')}`, value.replace(/^0:/, '5:'), value.replace(/^0:3:/, '0:2:'), 'plain'];
  for (const c of cases) assert.throws(() => enc.decrypt(c), c);
  assert.throws(() => createEncryptor(NEW_KEY).decrypt(value), 'another key');
});

test('keys of other lengths are stretched to 32 bytes', () => {
  assert.deepEqual(
    encryptionKeys(`short ${NEW_KEY}`).map((k) => k.length),
    [32, 32],
  );
});

test("PHP's sodium, as Magento's Encryptor uses it, decrypts ours and we decrypt its", (t) => {
  // Magento\Framework\Encryption\Adapter\SodiumChachaIetf with the key bytes Encryptor passes it.
  const script = `
    $key = $argv[1];
    [$mine] = json_decode(stream_get_contents(STDIN));
    [, , $payload] = explode(':', $mine, 3);
    $raw = base64_decode($payload);
    $nonce = substr($raw, 0, 12);
    echo sodium_crypto_aead_chacha20poly1305_ietf_decrypt(substr($raw, 12), $nonce, $nonce, $key), "\\n";
    $nonce = random_bytes(12);
    echo '0:3:', base64_encode($nonce . sodium_crypto_aead_chacha20poly1305_ietf_encrypt('from php', $nonce, $nonce, $key));`;
  let output: string;
  try {
    output = execFileSync('php', ['-r', script, OLD_KEY], {
      input: JSON.stringify([createEncryptor(OLD_KEY).encrypt('from node')]),
      encoding: 'utf8',
    });
  } catch (error) {
    t.skip(`php-cli with sodium is not available (${(error as Error).message.split('\n')[0]})`);
    return;
  }
  const [decrypted, fromPhp] = output.split('\n');
  assert.equal(decrypted, 'from node');
  assert.equal(createEncryptor(OLD_KEY).decrypt(fromPhp!), 'from php');
});
