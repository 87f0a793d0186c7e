/**
 * Idempotency-Key (beyond Magento, CONTRACT §2): a repeat of a request from the same caller with the
 * same key and the same request returns the first response and writes nothing; the same key with a
 * different request is 422. Keys live `idempotencyTtlSeconds` (24 h by default).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

/**
 * What makes two requests "the same": the whole request as it bears on the outcome — method,
 * store, path, the raw query string (`?partialAccept=true` changes the answer), the caller and the
 * exact body bytes. Lengths are framed so no two different requests can run together.
 */
export function requestFingerprint(request: {
  method: string;
  storeId: number;
  path: string;
  queryString: string;
  caller: { userType: number; userId: number };
  body: Uint8Array | null;
}): Buffer {
  const head = [
    request.method,
    String(request.storeId),
    request.path,
    request.queryString,
    `${request.caller.userType}:${request.caller.userId}`,
  ];
  const hash = createHash('sha256');
  for (const part of head) hash.update(`${Buffer.byteLength(part)}:${part}\n`);
  return hash.update(request.body ?? new Uint8Array(0)).digest();
}

export interface StoredResponse {
  status: number;
  body: string;
}

/**
 * The stored response for a live key with the same fingerprint, or a 422 when it differs.
 * `ttlSeconds` null: for a key in use at all, whatever its age (after losing a claim to it).
 */
export async function replayStoredResponse(
  db: pg.Pool,
  schema: string,
  caller: { userType: number; userId: number },
  key: string,
  fingerprint: Buffer,
  ttlSeconds: number | null,
): Promise<StoredResponse | null> {
  const { rows } = await db.query<{ request_hash: Buffer; response_status: number; response_body: string }>(
    findIdempotencyKey(schema),
    [caller.userType, caller.userId, key, ttlSeconds],
  );
  const row = rows[0];
  if (!row) return null;
  const same = row.request_hash.length === fingerprint.length && timingSafeEqual(row.request_hash, fingerprint);
  if (!same) throw new WebapiError(E.IDEMPOTENCY_KEY_REUSED, { key });
  return { status: row.response_status, body: row.response_body };
}
