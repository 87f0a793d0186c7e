/**
 * Accepting one async or bulk request, as one function: `accept(route, request) → response`. The
 * HTTP layer only adapts (routes, authenticates, reads the body within its bounds, calls this,
 * writes the answer); everything Magento's accept path decides is here: the body's decoding, each
 * operation's input, validation, data_hash, the Idempotency-Key, and the one transaction that
 * writes the bulk, its operations and their jobs (CONTRACT §2). Client errors are thrown as
 * `WebapiError`s from the catalogue; nothing is written unless the answer is 202.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import type { Caller } from '../kernel/caller.ts';
import { checkContentType, hasBody } from './decode.ts';
import { asyncResponse, prepareRequest, type InputValidator } from './prepare.ts';
import type { AcceptCommitter } from './committer.ts';
import { parseIdempotencyKey, replayStoredResponse, requestFingerprint } from './idempotency.ts';
import { phpJsonEncode } from './php-json.ts';
import { secretFieldSet } from './secrets.ts';

export interface AcceptRequest {
  kind: 'async' | 'bulk';
  method: string;
  /** The path after `/rest[/<store>]` (`/async/V1/products/abc`). */
  path: string;
  pathParams: Record<string, string>;
  /** Query parameters, a repeated one keeping its last value. */
  query: Record<string, string>;
  /** The raw query string (without `?`), part of what makes two requests the same. */
  queryString: string;
  store: StoreScope;
  caller: Caller;
  contentType: string | undefined;
  idempotencyKey: string | undefined;
  requestId: string | null;
  /** Where to post the bulk's completion (X-Callback-Url, already checked), or null. */
  callbackUrl: string | null;
  /** The body bytes; null or empty when there is none. */
  body: Uint8Array | null;
}

export interface AcceptResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON text, PHP-encoded. */
  body: string;
  /** The bulk created and its item counts (absent for a replay). */
  bulkUuid?: string;
  items?: { accepted: number; rejected: number };
}

export interface AcceptDependencies {
  pool: pg.Pool;
  schema: string;
  validators: Readonly<Record<string, InputValidator>>;
  committer: AcceptCommitter;
  cryptKey: Buffer;
  limits: {
    maxBulkItems: number;
    maxJsonDepth: number;
    partialAccept: boolean;
    idempotencyTtlSeconds: number;
  };
}

export type Accept = (route: Route, request: AcceptRequest) => Promise<AcceptResponse>;

const JSON_TYPE = 'application/json; charset=utf-8';

export function createAccept(deps: AcceptDependencies): Accept {
  const secretsOf = new WeakMap<Route, ReadonlySet<string>>();
  const secretFields = (route: Route) => {
    let set = secretsOf.get(route);
    if (!set) secretsOf.set(route, (set = secretFieldSet(route.secretFields)));
    return set;
  };

  return async function accept(route, request) {
    const key = parseIdempotencyKey(request.idempotencyKey);
    const body = request.body !== null && request.body.length > 0 ? request.body : null;
    if (hasBody(body)) checkContentType(request.contentType);
    const fingerprint = key
      ? requestFingerprint({
          method: request.method,
          storeId: request.store.id,
          path: request.path,
          queryString: request.queryString,
          caller: request.caller,
          body,
        })
      : undefined;
    const replay = () =>
      replayStoredResponse(
        deps.pool,
        deps.schema,
        request.caller,
        key!,
        fingerprint!,
        deps.limits.idempotencyTtlSeconds,
      );
    if (key) {
      const stored = await replay();
      if (stored) return replayed(stored);
    }

    const prepared = prepareRequest({
      kind: request.kind,
      route,
      pathParams: request.pathParams,
      query: request.query,
      body,
      store: request.store,
      validator: deps.validators[route.operationId],
      cryptKey: deps.cryptKey,
      partialAccept: partialAccept(request.query.partialAccept, deps.limits.partialAccept),
      maxBulkItems: deps.limits.maxBulkItems,
      maxJsonDepth: deps.limits.maxJsonDepth,
      secretFields: secretFields(route),
    });
    const bulkUuid = randomUUID();
    const encoded = phpJsonEncode(asyncResponse(bulkUuid, prepared) as never);
    const outcome = await deps.committer.submit({
      bulk: {
        uuid: bulkUuid,
        userId: request.caller.userId,
        userType: request.caller.userType,
        description: `Topic ${route.topic}`,
        storeId: request.store.id,
        storeCode: request.store.code,
        requestId: request.requestId,
        callbackUrl: request.callbackUrl,
      },
      route,
      items: prepared.accepted,
      idempotency: key ? { key, requestHash: fingerprint!, responseStatus: 202, responseBody: encoded } : undefined,
    });
    if (outcome.kind === 'idempotency-conflict') {
      // A request with the same key committed first (concurrently, or earlier in the same group):
      // answer what it answered.
      const stored = await replay();
      if (stored) return replayed(stored);
      throw new Error('Idempotency key conflict without a stored response');
    }
    return {
      status: 202,
      headers: { 'Content-Type': JSON_TYPE },
      body: encoded,
      bulkUuid,
      items: { accepted: prepared.accepted.length, rejected: prepared.rejected.length },
    };
  };
}

function replayed(stored: { status: number; body: string }): AcceptResponse {
  return {
    status: stored.status,
    headers: { 'Content-Type': JSON_TYPE, 'Idempotent-Replayed': 'true' },
    body: stored.body,
  };
}

function partialAccept(param: string | undefined, configured: boolean): boolean {
  if (param === undefined) return configured;
  return param === 'true' || param === '1';
}
