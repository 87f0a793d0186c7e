/**
 * Password rules of Magento's AccountManagement::checkPasswordStrength (default configuration)
 * and the hash we store: scrypt, never the password itself.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { OperationError } from '../../src/plugin.ts';

const MIN_LENGTH = 8;
const MIN_CLASSES = 3;
const PARAMS = { N: 16384, r: 8, p: 1 } as const;

export function checkPasswordStrength(password: string, email: string): void {
  if (password.length < MIN_LENGTH) {
    throw new OperationError(
      `The password needs at least ${MIN_LENGTH} characters. Create a new password and try again.`,
    );
  }
  if (password.trim() !== password) {
    throw new OperationError("The password can't begin or end with a space. Verify the password and try again.");
  }
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^a-zA-Z\d]/].filter((re) => re.test(password)).length;
  if (classes < MIN_CLASSES) {
    throw new OperationError(
      `Minimum of different classes of characters in password is ${MIN_CLASSES}. Classes of characters: Lower Case, Upper Case, Digits, Special Characters.`,
    );
  }
  if (password.toLowerCase() === email.toLowerCase()) {
    throw new OperationError(
      "The password can't be the same as the email address. Create a new password and try again.",
    );
  }
}

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$<salt b64>$<key b64>`: the parameters travel with the hash so they can change. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, N, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const derived = await derive(password, Buffer.from(salt, 'base64'), { N: Number(N), r: Number(r), p: Number(p) });
  // Constant time: Buffer.equals stops at the first differing byte, which a timing attack can read.
  // The length is the stored hash's, not a secret.
  return derived.length === expected.length && timingSafeEqual(derived, expected);
}
