/** SQL of integration tokens, as functions of the schema name. */
import { ident } from '../pool.ts';

/** $1 name, $2 sha256 of the token (bytea), $3 resources (text[]). */
export const insertToken = (s: string) =>
  `INSERT INTO ${ident(s)}.integration_token (name, token_hash, resources) VALUES ($1, $2, $3)
   RETURNING id::int AS id`;

/** $1 token id. Returns the row only when it was not revoked before. */
export const revokeToken = (s: string) =>
  `UPDATE ${ident(s)}.integration_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id::int AS id`;

/**
 * $1 sha256 of a presented bearer token, $2 whether an integration's access token counts as a
 * bearer token (`oauth.integrationAsBearer`). One statement for the three kinds of bearer token,
 * each through its unique index: CLI-issued integration tokens, admin tokens (unexpired, of an
 * active user) and integrations' access tokens.
 */
export const selectBearer = (s: string) =>
  `SELECT id::int AS id, name, token_hash AS "tokenHash", resources, user_type AS "userType",
          NULL::timestamptz AS "expiresAt"
   FROM ${ident(s)}.integration_token WHERE token_hash = $1 AND revoked_at IS NULL
   UNION ALL
   SELECT u.id::int, u.username, t.token_hash, u.resources, 2, t.expires_at
   FROM ${ident(s)}.admin_token t JOIN ${ident(s)}.admin_user u ON u.id = t.user_id
   WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.is_active
   UNION ALL
   SELECT id::int, name, access_token_hash, resources, 1, NULL
   FROM ${ident(s)}.integration WHERE $2::boolean AND access_token_hash = $1 AND revoked_at IS NULL
   LIMIT 1`;
