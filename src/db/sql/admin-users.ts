/** SQL of admin users, admin tokens and the failed-login log, as functions of the schema. */
import { ident } from '../pool.ts';

/** $1 username, $2 password hash, $3 resources, $4 email, $5 firstname, $6 lastname. */
export const insertAdminUser = (s: string) =>
  `INSERT INTO ${ident(s)}.admin_user (username, password_hash, resources, email, firstname, lastname)
   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::int AS id`;

/** $1 username, exact (Magento compares user names as the database collation does; ours is exact). */
export const selectAdminUserByName = (s: string) =>
  `SELECT id::int AS id, username, password_hash AS "passwordHash", is_active AS "isActive"
   FROM ${ident(s)}.admin_user WHERE username = $1`;

/** $1 user id, $2 sha256 of the token, $3 lifetime in seconds. */
export const insertAdminToken = (s: string) =>
  `INSERT INTO ${ident(s)}.admin_token (user_id, token_hash, expires_at)
   VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING id::int AS id, expires_at AS "expiresAt"`;

/**
 * $1 user name, $2 user type, $3 lock timeout in seconds, $4 failures that lock. Counts an attempt
 * as a failure before its password is checked, in one statement, so parallel guesses cannot all
 * pass a check made before any of them is counted; a success then deletes the row. As Magento's
 * `RequestLog`, every counted attempt pushes the lock's expiry to now + timeout and an expired lock
 * starts again from one; an attempt on a locked name changes nothing and returns no row.
 */
export const countAttempt = (s: string) =>
  `INSERT INTO ${ident(s)}.auth_failure AS f (user_name, user_type, failures_count, lock_expires_at)
   VALUES ($1, $2, 1, now() + make_interval(secs => $3))
   ON CONFLICT (user_name, user_type) DO UPDATE SET
     failures_count = CASE WHEN f.lock_expires_at > now() THEN f.failures_count + 1 ELSE 1 END,
     lock_expires_at = EXCLUDED.lock_expires_at
   WHERE NOT (f.lock_expires_at > now() AND f.failures_count >= $4)
   RETURNING failures_count AS count`;

export const resetFailures = (s: string) =>
  `DELETE FROM ${ident(s)}.auth_failure WHERE user_name = $1 AND user_type = $2`;
