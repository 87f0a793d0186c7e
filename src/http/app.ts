/**
 * The Koa application: a tiny core of middleware (errors → request id → dispatch) and one handler
 * per processor kind. Everything it needs arrives as dependencies, so tests build it against a real
 * database with the same wiring as `serve`.
 */
import { createSchemaAccess } from '../runtime/schema-access.ts';
import { randomUUID } from 'node:crypto';
import Koa, { type Context } from 'koa';
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { Logger, StoreScope } from '../plugins/api.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { requestIdMiddleware } from './middleware/request-id.ts';
import { classifyRequest } from './dispatch.ts';
import { readBody } from './body.ts';
import { sendJson } from './respond.ts';
import type { RouteMatcher } from './route-matcher.ts';
import { asyncResponse, prepareRequest, type InputValidator } from '../accept/prepare.ts';
import type { AcceptCommitter } from '../accept/committer.ts';
import { parseIdempotencyKey, replayStoredResponse, requestFingerprint } from '../accept/idempotency.ts';
import { phpJsonEncode } from '../accept/php-json.ts';
import type { Caller } from '../auth/tokens.ts';
import type { HttpRequestLike } from '../auth/oauth-request.ts';

export type { Caller };

export interface AppDependencies {
  pool: pg.Pool;
  schema: string;
  log: Logger;
  routes: readonly Route[];
  matcher: RouteMatcher;
  validators: Readonly<Record<string, InputValidator>>;
  committer: AcceptCommitter;
  cryptKey: Buffer;
  /** Magento's PathProcessor: store from the first segment after `/rest`, and the rest of the path. */
  resolveStore(pathAfterRest: string): Promise<{ store: StoreScope; path: string }>;
  /** The auth step: the request's caller (src/auth/caller.ts); throws for a bad OAuth signature. */
  authenticate(req: HttpRequestLike): Promise<Caller>;
  /** Throws 401 in Magento's format unless the caller holds every resource of `acl`. */
  authorize(caller: Caller, acl: readonly string[]): void;
  /** The OpenAPI documents of the async and bulk APIs (CONTRACT §1). */
  schemas: { async: unknown; bulk: unknown };
  /** Handles `POST /V1/integration/admin/token`; returns false for other requests. */
  adminToken?: (ctx: Context, path: string) => Promise<boolean>;
  /** Handles `/V<n>/...` requests (the bulk status API); returns false when nothing matched. */
  sync?: (ctx: Context, path: string, store: StoreScope, caller: () => Promise<Caller>) => Promise<boolean>;
  limits: {
    maxBodyBytes: number;
    maxBulkItems: number;
    maxJsonDepth: number;
    partialAccept: boolean;
    idempotencyTtlSeconds: number;
  };
  developerMode?: boolean;
  /** Told of every committed accept (metrics). */
  onAccepted?(e: { kind: string; topic: string; store: string; accepted: number; rejected: number }): void;
  /** The completion webhook URL of a bulk (src/webhooks/register.ts); throws the client's 400. */
  callbackUrl?(header: string | undefined, caller: Caller): string | null;
}

const schemaAccesses = new WeakMap<AppDependencies, ReturnType<typeof createSchemaAccess>>();
function schemaAccess(deps: AppDependencies) {
  let access = schemaAccesses.get(deps);
  if (!access) schemaAccesses.set(deps, (access = createSchemaAccess(deps.schemas, deps.routes)));
  return access;
}

export function createApp(deps: AppDependencies): Koa {
  const app = new Koa();
  // Koa would otherwise print errors it sees to stderr a second time.
  app.silent = true;
  app.use(requestIdMiddleware(deps.log));
  app.use(errorMiddleware(deps.log, deps.developerMode ?? false));
  app.use((ctx) => handle(ctx, deps));
  return app;
}

async function handle(ctx: Context, deps: AppDependencies): Promise<void> {
  const raw = ctx.path;
  if (!/^\/rest(\/|$)/.test(raw)) throw new WebapiError(E.ROUTE_NOT_FOUND);
  const { store, path } = await deps.resolveStore(raw.replace(/^\/rest/, ''));
  const kind = classifyRequest(ctx.method, path, deps.matcher.traits);
  switch (kind) {
    case 'asyncSchema':
    case 'bulkSchema': {
      // As Magento: the operations the caller's token may call; without a token, the anonymous ones.
      const caller = await deps.authenticate(ctx.req);
      return sendJson(ctx, 200, schemaAccess(deps).visible(kind === 'asyncSchema' ? 'async' : 'bulk', caller));
    }
    case 'sync': {
      if (deps.adminToken && (await deps.adminToken(ctx, path))) return;
      const caller = () => deps.authenticate(ctx.req);
      if (deps.sync && (await deps.sync(ctx, path, store, caller))) return;
      throw new WebapiError(E.ROUTE_NOT_FOUND);
    }
    case 'async':
    case 'bulk':
      return accept(ctx, deps, kind, path, store);
  }
}

async function accept(
  ctx: Context,
  deps: AppDependencies,
  kind: 'async' | 'bulk',
  path: string,
  store: StoreScope,
): Promise<void> {
  const match = deps.matcher.match(kind, ctx.method, path);
  if (!match) throw new WebapiError(E.ROUTE_NOT_FOUND);
  const { route, params } = match;
  const caller = await deps.authenticate(ctx.req);
  deps.authorize(caller, route.acl);

  const callbackUrl = deps.callbackUrl?.(ctx.get('X-Callback-Url') || undefined, caller) ?? null;
  const idempotencyKey = parseIdempotencyKey(ctx.get('Idempotency-Key') || undefined);
  const body = await readBody(ctx.req, deps.limits.maxBodyBytes);
  const fingerprint = idempotencyKey ? requestFingerprint(ctx.method, store.id, path, body) : undefined;
  if (idempotencyKey && fingerprint) {
    const stored = await replayStoredResponse(
      deps.pool,
      deps.schema,
      caller,
      idempotencyKey,
      fingerprint,
      deps.limits.idempotencyTtlSeconds,
    );
    if (stored) return replay(ctx, stored);
  }

  const query = queryValues(ctx);
  const prepared = prepareRequest({
    kind,
    route,
    pathParams: params,
    query,
    body,
    store,
    validator: deps.validators[route.operationId],
    cryptKey: deps.cryptKey,
    partialAccept: partialAccept(query.partialAccept, deps.limits.partialAccept),
    maxBulkItems: deps.limits.maxBulkItems,
    maxJsonDepth: deps.limits.maxJsonDepth,
  });

  const bulkUuid = randomUUID();
  const response = asyncResponse(bulkUuid, prepared);
  const encoded = phpJsonEncode(response as never);
  const outcome = await deps.committer.submit({
    bulk: {
      uuid: bulkUuid,
      userId: caller.userId,
      userType: caller.userType,
      description: `Topic ${route.topic}`,
      storeId: store.id,
      storeCode: store.code,
      requestId: (ctx.state.requestId as string | undefined) ?? null,
      callbackUrl,
    },
    route,
    items: prepared.accepted,
    idempotency:
      idempotencyKey && fingerprint
        ? { key: idempotencyKey, requestHash: fingerprint, responseStatus: 202, responseBody: encoded }
        : undefined,
  });
  if (outcome.kind === 'idempotency-conflict') {
    // A concurrent request with the same key committed first: answer what it answered.
    const stored = await replayStoredResponse(
      deps.pool,
      deps.schema,
      caller,
      idempotencyKey!,
      fingerprint!,
      deps.limits.idempotencyTtlSeconds,
    );
    if (stored) return replay(ctx, stored);
    throw new Error('Idempotency key conflict without a stored response');
  }
  ctx.state.bulkUuid = bulkUuid;
  deps.onAccepted?.({
    kind,
    topic: route.topic,
    store: store.code ?? 'default',
    accepted: prepared.accepted.length,
    rejected: prepared.rejected.length,
  });
  ctx.status = 202;
  ctx.set('Content-Type', 'application/json; charset=utf-8');
  ctx.body = encoded;
}

function replay(ctx: Context, stored: { status: number; body: string }): void {
  ctx.status = stored.status;
  ctx.set('Content-Type', 'application/json; charset=utf-8');
  ctx.set('Idempotent-Replayed', 'true');
  ctx.body = stored.body;
}

/** Query parameters as single strings (repeated ones keep the last value). */
function queryValues(ctx: Context): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(ctx.query)) {
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

function partialAccept(param: string | undefined, configured: boolean): boolean {
  if (param === undefined) return configured;
  return param === 'true' || param === '1';
}
