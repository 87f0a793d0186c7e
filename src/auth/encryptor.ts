/**
 * Secrets at rest, encrypted the way Magento's `Magento\Framework\Encryption\Encryptor::encrypt`
 * does since 2.2 (cipher version 3): `<key version>:3:<base64(nonce . ciphertext . tag)>`, where
 * the cipher is ChaCha20-Poly1305 (IETF, libsodium's `sodium_crypto_aead_chacha20poly1305_ietf_*`)
 * with a random 12-byte nonce that is also the associated data. The key version is the index of the
 * key in `crypt/key` (several keys separated by whitespace, the last one current), so a rotated key
 * still decrypts what the older keys encrypted, and a Magento `oauth_consumer.secret` encrypted with
 * the same key decrypts here.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { parseCryptKey } from '../accept/crypt-key.ts';

const CIPHER_VERSION = '3';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface Encryptor {
  encrypt(plaintext: string): string;
  /** Throws when the value was not encrypted with one of the configured keys. */
  decrypt(value: string): string;
}

/**
 * Every key of a `crypt/key` value, oldest first. ChaCha20 needs 32 bytes: Magento's keys have
 * exactly that (32 characters before 2.4.7, `base64` + 32 bytes after); any other length, which
 * Magento would reject, is stretched with SHA-256 instead of failing at start.
 */
export function encryptionKeys(cryptKey: string): Buffer[] {
  const keys = cryptKey
    .trim()
    .split(/\s+/)
    .filter((k) => k !== '');
  if (keys.length === 0) throw new Error('The crypt key is empty');
  return keys.map((k) => {
    const bytes = parseCryptKey(k);
    return bytes.length === 32 ? bytes : createHash('sha256').update(bytes).digest();
  });
}

export function createEncryptor(cryptKey: string): Encryptor {
  const keys = encryptionKeys(cryptKey);
  const current = keys.length - 1;
  return {
    encrypt(plaintext) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('chacha20-poly1305', keys[current]!, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(nonce, { plaintextLength: Buffer.byteLength(plaintext) });
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${current}:${CIPHER_VERSION}:${Buffer.concat([nonce, body]).toString('base64')}`;
    },
    decrypt(value) {
      const match = /^(\d+):(\d+):([A-Za-z0-9+/=]+)$/.exec(value);
      if (!match || match[2] !== CIPHER_VERSION) throw new Error('Not a value encrypted with cipher version 3');
      const key = keys[Number(match[1])];
      if (!key) throw new Error(`No crypt key with version ${match[1]}`);
      const raw = Buffer.from(match[3]!, 'base64');
      if (raw.length < NONCE_BYTES + TAG_BYTES) throw new Error('Encrypted value too short');
      const nonce = raw.subarray(0, NONCE_BYTES);
      const tag = raw.subarray(raw.length - TAG_BYTES);
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(nonce, { plaintextLength: raw.length - NONCE_BYTES - TAG_BYTES });
      decipher.setAuthTag(tag);
      return Buffer.concat([
        decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    },
  };
}
