/**
 * Accepting one async or bulk request, as one function: `accept(route, request) → response`. The
 * HTTP layer only adapts (routes, authenticates, reads the body within its bounds, calls this,
 * writes the answer); everything Magento's accept path decides is here: the body's decoding, each
 * operation's input, validation, data_hash, the Idempotency-Key, and the one transaction that
 * writes the bulk, its operations and their jobs (CONTRACT §2). Client errors are thrown as
 * `WebapiError`s from the catalogue; nothing is written unless the answer is 202.
 *
 * `?validateOnly=true` (docs/validate-only.md) takes the same path up to the transaction: the same
 * decoding, inputs, validation and data_hash, so the same verdicts, then the plugins' own checks of
 * the accepted items; it answers 200 with the body accept would have given, without `bulk_uuid`,
 * and writes nothing: no bulk, no job, no Idempotency-Key (its form is still checked).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import type { Caller } from '../kernel/caller.ts';
import { checkContentType, hasBody } from './decode.ts';
import { asyncResponse, prepareRequest, type InputValidator, type PreparedRequest } from './prepare.ts';
import { E, renderTemplate, WebapiError } from '../errors/catalogue.ts';
import { bulkCycles, cycleSteps } from '../operations/cycles.ts';
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

/** An item a plugin's check refused: its index in the request, the message and code it gave. */
export interface CheckedRejection {
  index: number;
  message: string;
  code: number;
}

/**
 * The plugins' own checks of a validate-only request's accepted items (`validate` in the plugin
 * API; src/plugins/checks.ts): which of them would fail when run. `plain` is each item's
 * `serialized_data` as the consumer would open it.
 */
export type ItemChecks = (
  route: Route,
  store: StoreScope,
  items: readonly { index: number; plain: string }[],
) => Promise<readonly CheckedRejection[]>;

/**
 * What the items of a route provide and require (docs/dependencies.md; src/plugins/item-dependencies.ts):
 * for each accepted item, from its unsealed `serialized_data`, the entity key it provides (or null)
 * and the keys it requires. Undefined when the route's operation requires nothing.
 */
export type ItemDependencies = (
  route: Route,
  store: StoreScope,
) => ((plain: string) => { provides: string | null; requires: readonly string[] }) | undefined;

/** What a validate-only request found, for metrics. */
export interface ValidatedEvent {
  kind: 'async' | 'bulk';
  topic: string;
  store: string;
  accepted: number;
  rejected: number;
  /** Of the rejected: refused by a plugin's check (the rest by accept's own validation). */
  refusedByChecks: number;
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
  /**
   * What items provide and require: a bulk whose operations would wait for each other in a cycle
   * is refused (400, or its members rejected with partialAccept). None: nothing requires anything.
   */
  dependencies?: ItemDependencies;
  /** The plugins' checks, run in validate-only requests only. */
  checks?: ItemChecks;
  /** Told of every validate-only request answered 200 (metrics). */
  onValidated?(e: ValidatedEvent): void;
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

  const prepare = (route: Route, request: AcceptRequest, body: Uint8Array | null, keepPlain = false) =>
    prepareRequest({
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
      keepPlain,
    });

  /**
   * Accept's verdicts: the prepared items, less those on a dependency cycle among them (every
   * member rejected naming its cycle, or the request refused naming the first cycle without
   * partialAccept: Magento refuses a request whose item is invalid as a whole).
   */
  function verdicts(route: Route, request: AcceptRequest, body: Uint8Array | null, keepPlain: boolean) {
    const keysOf = deps.dependencies?.(route, request.store);
    const prepared = prepare(route, request, body, keepPlain || keysOf !== undefined);
    if (!keysOf || prepared.accepted.length < 2) return prepared;
    const cycles = bulkCycles(prepared.accepted.map((a) => ({ index: a.index, ...keysOf(a.plain!) })));
    if (!cycles.size) return prepared;
    const refusals = [...cycles].map(([index, steps]) => ({
      index,
      cycle: cycleSteps(steps.map((s) => ({ member: `item ${s.index}`, need: s.need }))),
    }));
    if (!partialAccept(request.query.partialAccept, deps.limits.partialAccept)) {
      throw new WebapiError(E.DEPENDENCY_CYCLE, { cycle: refusals[0]!.cycle });
    }
    return {
      ...prepared,
      ...withRefusals(
        prepared,
        refusals.map((r) => ({
          index: r.index,
          message: renderTemplate(E.DEPENDENCY_CYCLE.template, { cycle: r.cycle }),
          code: 0,
        })),
      ),
    };
  }

  /** A validate-only request: accept's verdicts and the plugins' checks, nothing written. */
  async function validate(route: Route, request: AcceptRequest, body: Uint8Array | null): Promise<AcceptResponse> {
    const prepared = verdicts(route, request, body, deps.checks !== undefined);
    const refused =
      deps.checks && prepared.accepted.length
        ? await deps.checks(
            route,
            request.store,
            prepared.accepted.map((a) => ({ index: a.index, plain: a.plain! })),
          )
        : [];
    const checked = withRefusals(prepared, refused);
    deps.onValidated?.({
      kind: request.kind,
      topic: route.topic,
      store: request.store.code ?? 'default',
      accepted: checked.accepted.length,
      rejected: checked.rejected.length,
      refusedByChecks: refused.length,
    });
    return {
      status: 200,
      headers: { 'Content-Type': JSON_TYPE },
      body: phpJsonEncode(asyncResponse(null, checked) as never),
    };
  }

  return async function accept(route, request) {
    const key = parseIdempotencyKey(request.idempotencyKey);
    const validateOnly = flag('validateOnly', request.query.validateOnly);
    const body = request.body !== null && request.body.length > 0 ? request.body : null;
    if (hasBody(body)) checkContentType(request.contentType);
    if (validateOnly) return validate(route, request, body);
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
    const replay = (ttlSeconds: number | null = deps.limits.idempotencyTtlSeconds) =>
      replayStoredResponse(deps.pool, deps.schema, request.caller, key!, fingerprint!, ttlSeconds);
    if (key) {
      const stored = await replay();
      if (stored) return replayed(stored);
    }

    const prepared = verdicts(route, request, body, false);
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
      // answer what it answered. Its key was live when our claim lost to it, so it is read whatever
      // its age now: a short lifetime can run out between that claim and this read (a slow commit).
      const stored = await replay(null);
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

/** Items a plugin's check refused move from accepted to rejected. */
function withRefusals(
  prepared: PreparedRequest,
  refused: readonly CheckedRejection[],
): Pick<PreparedRequest, 'accepted' | 'rejected'> {
  if (!refused.length) return prepared;
  const out = new Set(refused.map((r) => r.index));
  return {
    accepted: prepared.accepted.filter((a) => !out.has(a.index)),
    rejected: [...prepared.rejected, ...refused],
  };
}

/** A query flag that must not be misread: true/1, false/0 (or absent: false), else 400. */
function flag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new WebapiError(E.FLAG_INVALID, { value, parameter: name });
}

function partialAccept(param: string | undefined, configured: boolean): boolean {
  if (param === undefined) return configured;
  return param === 'true' || param === '1';
}
