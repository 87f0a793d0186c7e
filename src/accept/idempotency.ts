/**
 * Idempotency-Key (beyond Magento, CONTRACT §2): a repeat of a request from the same caller with the
 * same key and the same request returns the first response and writes nothing; the same key with a
 * different request is 422. Keys live `idempotencyTtlSeconds` (24 h by default).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { E, WebapiError } from '../errors/catalogue.ts';
import { findIdempotencyKey } from '../db/sql/accept.ts';

const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (!VALID_KEY.test(header)) {
    throw new WebapiError(E.IDEMPOTENCY_KEY_INVALID, { reason: 'use 1 to 255 printable ASCII characters' });
  }
  return header;
}

/** What makes two requests "the same": method, store, path and the exact body bytes. */
export function requestFingerprint(method: string, storeId: number, path: string, body: string | null): Buffer {
  return createHash('sha256')
    .update(`${method}\n${storeId}\n${path}\n`)
    .update(body ?? '')
    .digest();
}

export interface StoredResponse {
  status: number;
  body: string;
}

/** The stored response for a live key with the same fingerprint, or a 422 when it differs. */
export async function replayStoredResponse(
  db: pg.Pool,
  schema: string,
  caller: { userType: number; userId: number },
  key: string,
  fingerprint: Buffer,
  ttlSeconds: number,
): Promise<StoredResponse | null> {
  const { rows } = await db.query<{ request_hash: Buffer; response_status: number; response_body: string }>(
    findIdempotencyKey(schema),
    [caller.userType, caller.userId, key, ttlSeconds],
  );
  const row = rows[0];
  if (!row) return null;
  if (!row.request_hash.equals(fingerprint)) throw new WebapiError(E.IDEMPOTENCY_KEY_REUSED, { key });
  return { status: row.response_status, body: row.response_body };
}
