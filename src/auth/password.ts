/**
 * Admin passwords, hashed with scrypt (a memory-hard KDF built into Node). The stored form carries
 * its parameters, `scrypt$<N>$<r>$<p>$<salt>$<hash>`, so they can be raised later without
 * invalidating existing hashes. N=2^15, r=8, p=3 is one of OWASP's equivalent scrypt settings
 * (32 MiB per hash, tens of milliseconds here): logins are rare, guesses should be expensive.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 2 ** 15;
const R = 8;
const P = 3;
const KEY_BYTES = 32;

function scrypt(password: string, salt: Buffer, options: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { ...options, maxmem: 256 * options.N * options.r };
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, opts, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches `stored`; false for a malformed stored value. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await scrypt(password, Buffer.from(parts[4]!, 'base64'), { N: n, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A hash no password matches, verified against for unknown user names, so a guess at a user name
 * takes as long as a guess at a password and response times do not reveal which names exist.
 */
export const DUMMY_PASSWORD_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;

/**
 * Magento's rules for admin passwords (`Magento\User\Model\UserValidationRules`): at least 7
 * characters, letters and digits both. Returns the messages of the rules broken.
 */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  if (password.length < 7) problems.push('Your password must be at least 7 characters.');
  if (!/[a-z]/i.test(password) || !/[0-9]/.test(password)) {
    problems.push('Your password must include both numeric and alphabetic characters.');
  }
  return problems;
}
