/**
 * The Koa application: every request, REST or not, goes through the same middleware (request id
 * and access log, response metrics, Magento-format errors) and then one router (@koa/router):
 * the accept routes of the route table, the bulk status API, the admin token, the schema
 * documents, `/metrics` and the dashboard's files. REST requests pass Magento's front first
 * (rest-front.ts: store, processor pool); what no route takes is Magento's 404. Routes that need a
 * caller take it from the same `authenticated` step. Everything arrives as dependencies, so tests
 * build it against a real database with the same wiring as `serve`.
 */
import { createSchemaAccess } from '../runtime/schema-access.ts';
import Koa, { type Context, type Next } from 'koa';
import { createRequire } from 'node:module';
import type { Router as KoaRouter } from '@koa/router';
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { Logger } from '../kernel/logger.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { requestIdMiddleware } from './middleware/request-id.ts';
import { readBodyBytes } from './body.ts';
import { sendJson } from './respond.ts';
import { routeTableTraits, toRouterPath } from './route-matcher.ts';
import { restFront, restOf } from './rest-front.ts';
import type { Admission } from './admission.ts';
import type { Accept } from '../accept/accept.ts';
import type { Caller } from '../kernel/caller.ts';
import type { HttpRequestLike } from '../auth/oauth-request.ts';
import type { RouteGroup } from '../status/handler.ts';

// @koa/router's CommonJS build, not its ES one: that one imports node:http as an ES module, which
// loads Node's bundled fetch client (undici) for nothing, ~45 ms of CPU a process (./node-http.ts).
const { Router } = createRequire(import.meta.url)('@koa/router') as typeof import('@koa/router');

export interface AppDependencies {
  pool: pg.Pool;
  schema: string;
  log: Logger;
  routes: readonly Route[];
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
  /** Answers `POST /V1/integration/admin/token` (src/auth/admin-token-endpoint.ts). */
  adminToken?: (ctx: Context) => Promise<void>;
  /** More REST routes under `/rest/sync` (the bulk status API: src/status/handler.ts). */
  sync?: RouteGroup;
  /** Answers `/metrics` (src/metrics/http.ts), when metrics are on. */
  metrics?: (ctx: Context) => Promise<void>;
  /** The dashboard's files under its path (src/admin/serve.ts), when it is on. */
  dashboard?: { path: string; answer(ctx: Context): void };
  limits: {
    maxBodyBytes: number;
  };
  developerMode?: boolean;
  /** Told of every answered request: its kind (from the path), status and seconds (metrics). */
  onResponse?(kind: string, status: number, seconds: number): void;
  /** Told of every committed accept (metrics). */
  onAccepted?(e: { kind: string; topic: string; store: string; accepted: number; rejected: number }): void;
  /** The completion webhook URL of a bulk (src/webhooks/register.ts); throws the client's 400. */
  callbackUrl?(header: string | undefined, caller: Caller): string | null;
}

export function createApp(deps: AppDependencies): Koa {
  const app = new Koa();
  // Koa would otherwise print errors it sees to stderr a second time.
  app.silent = true;
  if (deps.onResponse) app.use(observe(deps.onResponse));
  app.use(requestIdMiddleware(deps.log));
  app.use(errorMiddleware(deps.log, deps.developerMode ?? false));
  app.use(restFront({ resolveStore: deps.resolveStore, traits: routeTableTraits(deps.routes) }));
  const router = createRouter(deps);
  app.use(router.routes());
  app.use(() => {
    throw new WebapiError(E.ROUTE_NOT_FOUND);
  });
  return app;
}

/** The one router: every route the server answers, in one place. */
function createRouter(deps: AppDependencies): KoaRouter {
  // Case-sensitive as Magento's router; one trailing slash taken as none (sync paths come trimmed).
  const router = new Router({ sensitive: true, strict: false });
  const authenticated = async (ctx: Context, next: Next) => {
    ctx.state.caller = await deps.authenticate(requestOf(ctx));
    await next();
  };

  if (deps.metrics) router.all('/metrics', deps.metrics);
  if (deps.dashboard) {
    const { path, answer } = deps.dashboard;
    router.all(`${toRouterPath(path)}{/*asset}`, (ctx) => answer(ctx));
  }

  // As Magento: the operations the caller's token may call; without a token, the anonymous ones.
  const schemaAccess = createSchemaAccess(deps.schemas, deps.routes);
  for (const kind of ['async', 'bulk'] as const) {
    router.all(`/rest/${kind}Schema`, authenticated, (ctx) =>
      sendJson(ctx, 200, schemaAccess.visible(kind, ctx.state.caller as Caller)),
    );
  }
  if (deps.adminToken) router.post('/rest/sync/V1/integration/admin/token', deps.adminToken);
  deps.sync?.(router, authenticated);

  // Route-table order: codegen sorted literal segments before parameters (`/V1/carts/mine` before
  // `/V1/carts/{cartId}`), and the first route that matches answers.
  for (const route of deps.routes) {
    for (const kind of ['async', 'bulk'] as const) {
      // Registered without the spec's trailing slash: the URL is taken with or without it, as
      // Magento's router does.
      const path = toRouterPath((kind === 'async' ? route.asyncPath : route.bulkPath).replace(/(.)\/+$/, '$1'));
      router.register(
        `/rest/${kind}${path}`,
        [route.method],
        [authenticated, (ctx) => accept(ctx, deps, kind, route, { ...(ctx.params as Record<string, string>) })],
      );
    }
  }
  return router;
}

/** The request as the client sent it: OAuth signs the original URL, not the routing path. */
function requestOf(ctx: Context): HttpRequestLike {
  return { method: ctx.method, url: ctx.originalUrl, headers: ctx.req.headers, socket: ctx.req.socket };
}

/** Times every request for the latency histogram; the kind comes from the path as the client sent it. */
function observe(onResponse: NonNullable<AppDependencies['onResponse']>) {
  return async function observed(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    ctx.res.once('finish', () => {
      const [path, query = ''] = ctx.originalUrl.split('?') as [string, string?];
      // A validate-only request stores nothing and may wait on plugins' checks: not the accept latency.
      const kind =
        /(^|&)validateOnly=(true|1)(&|$)/.test(query) && /^\/rest(\/[^/]+)?\/async\//.test(path)
          ? 'validate'
          : /^\/rest(\/[^/]+)?\/async\/bulk\//.test(path)
            ? 'bulk'
            : /^\/rest(\/[^/]+)?\/async\//.test(path)
              ? 'async'
              : /^\/rest(\/[^/]+)?\/V\d+\//.test(path)
                ? 'status'
                : 'other';
      onResponse(kind, ctx.res.statusCode, (performance.now() - started) / 1000);
    });
    await next();
  };
}

/** Adapts HTTP to `accept(route, request)`: route, caller and body in, status, headers and body out. */
async function accept(
  ctx: Context,
  deps: AppDependencies,
  kind: 'async' | 'bulk',
  route: Route,
  params: Record<string, string>,
): Promise<void> {
  const { store, path } = restOf(ctx);
  const caller = ctx.state.caller as Caller;
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
