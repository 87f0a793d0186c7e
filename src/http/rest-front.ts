/**
 * Magento's front of `/rest`, before any route is looked up: the store code (`PathProcessor`, from
 * the first segment after `/rest`), then the processor pool's decision (dispatch.ts: 405 for an
 * unknown method, 400 for a path no processor takes). The request is then routed by the app's one
 * router on `/rest/<kind><path after the store>`, as Magento routes on the path without the store.
 * The original URL stays `ctx.originalUrl` (OAuth signs it; the logs show it).
 */
import type { Context, Next } from 'koa';
import type { StoreScope } from '../kernel/store-scope.ts';
import { classifyRequest, type RequestKind, type RouteTableTraits } from './dispatch.ts';

export interface RestRequest {
  store: StoreScope;
  /** The path after `/rest[/<store>]`, as the client sent it. */
  path: string;
  kind: RequestKind;
}

export function restFront(deps: {
  resolveStore(pathAfterRest: string): Promise<{ store: StoreScope; path: string }>;
  traits: RouteTableTraits;
}) {
  return async function rest(ctx: Context, next: Next): Promise<void> {
    if (!/^\/rest(\/|$)/.test(ctx.path)) return next();
    const { store, path } = await deps.resolveStore(ctx.path.replace(/^\/rest/, ''));
    const kind = classifyRequest(ctx.method, path, deps.traits);
    ctx.state.rest = { store, path, kind } satisfies RestRequest;
    ctx.path = routingPath(kind, path);
    await next();
  };
}

/**
 * Where the router looks for a REST request. The schema processors answer every path they take;
 * Magento's router trims the slashes around a sync path (`/V1/bulk/<uuid>/status/` is that route),
 * while async and bulk paths keep theirs (their routes take one trailing slash, no more).
 */
export function routingPath(kind: RequestKind, path: string): string {
  if (kind === 'asyncSchema' || kind === 'bulkSchema') return `/rest/${kind}`;
  if (kind === 'sync') return `/rest/sync${path.replace(/\/+$/, '')}`;
  return `/rest/${kind}${path}`;
}

/** The REST request the front resolved (routes under `/rest` only run after it). */
export const restOf = (ctx: Context): RestRequest => ctx.state.rest as RestRequest;
