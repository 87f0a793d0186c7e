/**
 * Magento's `crypt/key` (app/etc/env.php) and the key `data_hash` is computed with (source notes §4,
 * `Encryptor`): `preg_split('/\s+/s', trim($cryptKey))`, the LAST key is the current one; a key that
 * starts with `base64` is base64-decoded after the prefix (2.4.7+ generated keys), else its bytes are
 * used as they are.
 */

import { randomBytes } from 'node:crypto';

/** PHP `trim()` default characters: space, \t, \n, \r, \0, \x0B. */
// eslint-disable-next-line no-control-regex -- PHP trim() strips \0 and \x0B
const PHP_TRIM = /^[ \t\n\r\0\x0b]+|[ \t\n\r\0\x0b]+$/g;
/** PCRE `\s`: space, \t, \n, \x0B, \f, \r. */
// eslint-disable-next-line no-control-regex -- PCRE \s includes \x0B
const PCRE_SPACE = /[ \t\n\x0b\f\r]+/;

/** The HMAC key bytes of the current (last) key in a `crypt/key` value. Throws on an empty value. */
export function parseCryptKey(cryptKey: string): Buffer {
  const keys = cryptKey.replace(PHP_TRIM, '').split(PCRE_SPACE);
  const last = keys[keys.length - 1] ?? '';
  if (last === '') throw new Error('The crypt key is empty');
  return last.startsWith('base64') ? Buffer.from(last.slice(6), 'base64') : Buffer.from(last, 'utf8');
}

/** A new key in Magento 2.4.7+ format: `base64` + base64 of 32 random bytes. */
export function generateCryptKey(): string {
  return 'base64' + randomBytes(32).toString('base64');
}
