/** SQL of integrations (OAuth 1.0a consumers and their access tokens), as functions of the schema. */
import { ident } from '../pool.ts';

/** $1 name, $2 resources, $3 consumer key, $4 encrypted consumer secret, $5 sha256 of the access token, $6 encrypted token secret. */
export const insertIntegration = (s: string) =>
  `INSERT INTO ${ident(s)}.integration (name, resources, consumer_key, consumer_secret, access_token_hash, token_secret)
   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::int AS id`;

/** $1 consumer key. Revoked ones too: the verifier tells "revoked" apart from "unknown". */
export const selectIntegrationByConsumerKey = (s: string) =>
  `SELECT id::int AS id, name, resources, consumer_secret AS "consumerSecret", access_token_hash AS "accessTokenHash",
          token_secret AS "tokenSecret", revoked_at IS NOT NULL AS revoked
   FROM ${ident(s)}.integration WHERE consumer_key = $1`;

/** $1 sha256 of an access token: whether it belongs to any integration (for the error message). */
export const selectIntegrationIdByAccessToken = (s: string) =>
  `SELECT id::int AS id FROM ${ident(s)}.integration WHERE access_token_hash = $1`;

export const selectIntegrations = (s: string) =>
  `SELECT id::int AS id, name, resources, consumer_key AS "consumerKey", created_at AS "createdAt",
          revoked_at AS "revokedAt"
   FROM ${ident(s)}.integration ORDER BY id`;

/** $1 id, or $2 name of an active integration. */
export const revokeIntegration = (s: string) =>
  `UPDATE ${ident(s)}.integration SET revoked_at = now()
   WHERE revoked_at IS NULL AND (id = $1 OR name = $2) RETURNING id::int AS id, name`;

/**
 * $1 integration id, $2 nonce, $3 timestamp. Returns a row only when the nonce is new: the primary
 * key decides, so two servers seeing the same replayed request cannot both accept it.
 *
 * Committed without waiting for the WAL flush (`synchronous_commit` off for this statement's own
 * transaction): the row is visible to every other session at once, which is what stops replays;
 * only a database crash in the following fraction of a second could lose it. Waiting for the
 * flush would cost every signed request an fsync of its own, outside the accept's group commit.
 */
export const insertNonce = (s: string) =>
  `INSERT INTO ${ident(s)}.oauth_nonce (integration_id, nonce, timestamp)
   SELECT $1, $2, $3 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
   ON CONFLICT DO NOTHING RETURNING 1 AS inserted`;

/** $1 oldest timestamp still accepted: older nonces can never be replayed successfully. */
export const deleteExpiredNonces = (s: string) => `DELETE FROM ${ident(s)}.oauth_nonce WHERE timestamp < $1`;
