/** SQL of integration tokens, as functions of the schema name. */
import { ident } from '../pool.ts';

/** $1 name, $2 sha256 of the token (bytea), $3 resources (text[]). */
export const insertToken = (s: string) =>
  `INSERT INTO ${ident(s)}.integration_token (name, token_hash, resources) VALUES ($1, $2, $3)
   RETURNING id::int AS id`;

/** $1 sha256 of the presented token; the unique index on token_hash serves it. */
export const selectTokenByHash = (s: string) =>
  `SELECT id::int AS id, name, token_hash AS "tokenHash", resources, user_type AS "userType"
   FROM ${ident(s)}.integration_token WHERE token_hash = $1 AND revoked_at IS NULL`;

/** $1 token id. Returns the row only when it was not revoked before. */
export const revokeToken = (s: string) =>
  `UPDATE ${ident(s)}.integration_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id::int AS id`;
