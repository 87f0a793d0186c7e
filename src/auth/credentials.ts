/** Random credentials in Magento's format. */
import { randomInt } from 'node:crypto';

/** Magento's `Oauth\Helper\Oauth` lengths: consumer key and secret, token and token secret. */
export const CREDENTIAL_LENGTH = 32;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * `length` characters of digits and lowercase letters, as Magento's
 * `Oauth\Helper\Oauth::generateRandomString` (`Math\Random::CHARS_DIGITS . CHARS_LOWERS`): 32 of
 * them carry about 165 bits, drawn without modulo bias.
 */
export function randomCredential(length = CREDENTIAL_LENGTH): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}
