/** SQL of the accept transaction: set-based, one statement per table for a whole group of requests. */
import { ident } from '../pool.ts';

export const insertBulks = (schema: string) => `
  INSERT INTO ${ident(schema)}.bulk
    (uuid, user_id, user_type, description, operation_count, store_id, store_code, request_id)
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::smallint[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[])`;

export const insertOperations = (schema: string) => `
  INSERT INTO ${ident(schema)}.operation (bulk_uuid, operation_key, topic_name, operation_id, serialized_data)
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[])`;

/**
 * Claims idempotency keys for a group. A live key (younger than the TTL) is left alone and not
 * returned; an expired one is taken over. The returned keys are the requests that may proceed.
 */
export const claimIdempotencyKeys = (schema: string) => `
  INSERT INTO ${ident(schema)}.idempotency_key AS k
    (user_type, user_id, key, request_hash, response_status, response_body, bulk_uuid)
  SELECT * FROM unnest($1::smallint[], $2::int[], $3::text[], $4::bytea[], $5::int[], $6::text[], $7::uuid[])
  ON CONFLICT (user_type, user_id, key) DO UPDATE SET
    request_hash = excluded.request_hash, response_status = excluded.response_status,
    response_body = excluded.response_body, bulk_uuid = excluded.bulk_uuid, created_at = now()
  WHERE k.created_at < now() - make_interval(secs => $8)
  RETURNING user_type, user_id, key`;

export const findIdempotencyKey = (schema: string) => `
  SELECT request_hash, response_status, response_body FROM ${ident(schema)}.idempotency_key
  WHERE user_type = $1 AND user_id = $2 AND key = $3 AND created_at >= now() - make_interval(secs => $4)`;

export const deleteExpiredIdempotencyKeys = (schema: string) => `
  DELETE FROM ${ident(schema)}.idempotency_key WHERE created_at < now() - make_interval(secs => $1)`;
