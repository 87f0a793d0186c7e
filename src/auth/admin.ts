/**
 * Admin users and admin tokens, as Magento's `Magento\Integration\Model\AdminTokenService`:
 * `POST /V1/integration/admin/token` with a user name and password gives a bearer token that
 * carries the user's ACL role, for 4 hours by default (`oauth/access_token_lifetime/admin`).
 * Lockout as `Oauth\Token\RequestThrottler`: after 6 failures (`oauth/authentication_lock/
 * max_failures_count`) a user name is locked for 1800 s (`.../timeout`), each failure pushing the
 * lock's end; a success resets the count. A wrong password, an unknown or inactive user and a
 * locked account all get the same 401, so the answer does not tell which names exist.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from '../db/pool.ts';
import * as sql from '../db/sql/admin-users.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { DUMMY_PASSWORD_HASH, hashPassword, passwordProblems, verifyPassword } from './password.ts';
import { hashToken, normaliseResources } from './tokens.ts';

/** `RequestThrottler::USER_TYPE_ADMIN`: the user type of Magento's request log. */
const LOG_USER_TYPE_ADMIN = 3;

export interface AdminTokenPolicy {
  /** Token lifetime in hours. Default 4. */
  lifetimeHours: number;
  /** Failures before the user name is locked. Default 6. */
  maxFailures: number;
  /** Seconds a lock lasts after the last failure. Default 1800. */
  lockSeconds: number;
}

export const DEFAULT_ADMIN_TOKEN_POLICY: AdminTokenPolicy = { lifetimeHours: 4, maxFailures: 6, lockSeconds: 1800 };

export interface NewAdminUser {
  username: string;
  password: string;
  /** The user's role: `all` (Magento's Administrators) or ACL resources. */
  resources: 'all' | readonly string[];
  email?: string;
  firstname?: string;
  lastname?: string;
}

export async function createAdminUser(pool: Pool, schema: string, input: NewAdminUser): Promise<{ id: number }> {
  const username = typeof input.username === 'string' ? input.username.trim() : '';
  if (username === '') throw new Error('The user name is required.');
  const problems = passwordProblems(input.password);
  if (problems.length > 0) throw new Error(problems.join(' '));
  const resources = normaliseResources(input.resources);
  try {
    const { rows } = await pool.query<{ id: number }>(sql.insertAdminUser(schema), [
      username,
      await hashPassword(input.password),
      resources,
      input.email ?? null,
      input.firstname ?? null,
      input.lastname ?? null,
    ]);
    return { id: rows[0]!.id };
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new Error(`An admin user named "${username}" already exists.`, { cause: error });
    }
    throw error;
  }
}

interface AdminRow {
  id: number;
  username: string;
  passwordHash: string;
  isActive: boolean;
}

/**
 * Issues an admin token for valid credentials. Throws Magento's 400 for a missing user name or
 * password and its one 401 for everything else.
 */
export async function createAdminToken(
  pool: Pool,
  schema: string,
  username: unknown,
  password: unknown,
  policy: AdminTokenPolicy = DEFAULT_ADMIN_TOKEN_POLICY,
): Promise<{ token: string; expiresAt: Date }> {
  validateCredentials(username, password);
  const user = username as string;
  const failed = () => new WebapiError(E.ADMIN_SIGN_IN_FAILED);

  // The attempt is counted before the password is checked (and forgotten on success): a burst of
  // guesses gets at most maxFailures checks, not one each.
  const counted = await pool.query(sql.countAttempt(schema), [
    user,
    LOG_USER_TYPE_ADMIN,
    policy.lockSeconds,
    policy.maxFailures,
  ]);
  if (counted.rowCount === 0) throw failed();

  const { rows } = await pool.query<AdminRow>(sql.selectAdminUserByName(schema), [user]);
  const row = rows[0];
  const matches = await verifyPassword(password as string, row?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!row || !matches || !row.isActive) throw failed();
  await pool.query(sql.resetFailures(schema), [user, LOG_USER_TYPE_ADMIN]);
  // 32 random bytes; clients treat Magento's admin tokens (JWTs since 2.4.4) as opaque strings.
  const token = randomBytes(32).toString('base64url');
  const issued = await pool.query<{ expiresAt: Date }>(sql.insertAdminToken(schema), [
    row.id,
    hashToken(token),
    policy.lifetimeHours * 3600,
  ]);
  return { token, expiresAt: issued.rows[0]!.expiresAt };
}

/**
 * Magento's `CredentialsValidator`: each missing field is `"%fieldName" is required…`; both
 * missing is its aggregate "One or more input exceptions have occurred." with both listed.
 */
function validateCredentials(username: unknown, password: unknown): void {
  const missing = (
    [
      ['username', username],
      ['password', password],
    ] as const
  )
    .filter(([, v]) => typeof v !== 'string' || v.length === 0)
    .map(([fieldName]) => new WebapiError(E.FIELD_REQUIRED, { fieldName }));
  if (missing.length === 1) throw missing[0]!;
  if (missing.length > 1) throw new WebapiError(E.INPUT_EXCEPTIONS, undefined, { errors: missing });
}

/** Lifts a lockout (Magento's `admin:user:unlock`); false when the user name was not locked. */
export async function unlockAdminUser(pool: Pool, schema: string, username: string): Promise<boolean> {
  const { rowCount } = await pool.query(sql.resetFailures(schema), [username, LOG_USER_TYPE_ADMIN]);
  return Boolean(rowCount);
}
