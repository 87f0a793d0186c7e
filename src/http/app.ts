/**
 * The Koa application: a tiny core of middleware (errors → request id → dispatch) and one handler
 * per processor kind. Everything it needs arrives as dependencies, so tests build it against a real
 * database with the same wiring as `serve`.
 */
import { createSchemaAccess } from '../runtime/schema-access.ts';
import Koa, { type Context } from 'koa';
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { Logger } from '../kernel/logger.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { requestIdMiddleware } from './middleware/request-id.ts';
import { classifyRequest } from './dispatch.ts';
import { readBodyBytes } from './body.ts';
import { sendJson } from './respond.ts';
import type { RouteMatcher } from './route-matcher.ts';
import type { Admission } from './admission.ts';
import type { Accept } from '../accept/accept.ts';
import type { Caller } from '../kernel/caller.ts';
import type { HttpRequestLike } from '../auth/oauth-request.ts';

export interface AppDependencies {
  pool: pg.Pool;
  schema: string;
  log: Logger;
  routes: readonly Route[];
  matcher: RouteMatcher;
  /** The accept use case (src/accept/accept.ts). */
  accept: Accept;
  /** Bounds on accept requests in flight. */
  admission: Admission;
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
  };
  developerMode?: boolean;
  /** Told of every committed accept (metrics). */
  onAccepted?(e: { kind: string; topic: string; store: string; accepted: number; rejected: number }): void;
  /** The completion webhook URL of a bulk (src/webhooks/register.ts); throws the client's 400. */
  callbackUrl?(header: string | undefined, caller: Caller): string | null;
}

export function createApp(deps: AppDependencies): Koa {
  const app = new Koa();
  // Koa would otherwise print errors it sees to stderr a second time.
  app.silent = true;
  app.use(requestIdMiddleware(deps.log));
  app.use(errorMiddleware(deps.log, deps.developerMode ?? false));
  const schemaAccess = createSchemaAccess(deps.schemas, deps.routes);
  app.use((ctx) => handle(ctx, deps, schemaAccess));
  return app;
}

async function handle(
  ctx: Context,
  deps: AppDependencies,
  schemaAccess: ReturnType<typeof createSchemaAccess>,
): Promise<void> {
  const raw = ctx.path;
  if (!/^\/rest(\/|$)/.test(raw)) throw new WebapiError(E.ROUTE_NOT_FOUND);
  const { store, path } = await deps.resolveStore(raw.replace(/^\/rest/, ''));
  const kind = classifyRequest(ctx.method, path, deps.matcher.traits);
  switch (kind) {
    case 'asyncSchema':
    case 'bulkSchema': {
      // As Magento: the operations the caller's token may call; without a token, the anonymous ones.
      const caller = await deps.authenticate(ctx.req);
      return sendJson(ctx, 200, schemaAccess.visible(kind === 'asyncSchema' ? 'async' : 'bulk', caller));
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

/** Adapts HTTP to `accept(route, request)`: route, caller and body in, status, headers and body out. */
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
  const ticket = deps.admission.reading();
  try {
    const body = await readBodyBytes(ctx.req, deps.limits.maxBodyBytes, ticket);
    const leave = deps.admission.enter();
    try {
      const response = await deps.accept(route, {
        kind,
        method: ctx.method,
        path,
        pathParams: params,
        query: queryValues(ctx),
        queryString: ctx.querystring,
        store,
        caller,
        contentType: ctx.get('Content-Type') || undefined,
        idempotencyKey: ctx.get('Idempotency-Key') || undefined,
        requestId: (ctx.state.requestId as string | undefined) ?? null,
        callbackUrl,
        body,
      });
      if (response.bulkUuid) {
        ctx.state.bulkUuid = response.bulkUuid;
        deps.onAccepted?.({
          kind,
          topic: route.topic,
          store: store.code ?? 'default',
          accepted: response.items?.accepted ?? 0,
          rejected: response.items?.rejected ?? 0,
        });
      }
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.body = response.body;
    } finally {
      leave();
    }
  } finally {
    ticket.release();
  }
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
