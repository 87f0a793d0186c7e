/**
 * Finds the route for an async or bulk request. @koa/router does the matching (path-to-regexp);
 * routes are registered in route-table order, which codegen sorted so literal segments win over
 * parameters (`/V1/carts/mine` before `/V1/carts/{cartId}`): the first layer that matches wins.
 */
import { Router, type Layer } from '@koa/router';
import type { Route } from '../routes/types.ts';
import type { RouteTableTraits } from './dispatch.ts';

export interface RouteMatch {
  route: Route;
  /** Decoded path parameter values by name (async requests; bulk paths have none). */
  params: Record<string, string>;
}

export interface RouteMatcher {
  match(kind: 'async' | 'bulk', method: string, path: string): RouteMatch | null;
  /** What the request classifier must know of the table (PATCH present, unversioned paths). */
  readonly traits: RouteTableTraits;
}

/** `{sku}` → `:sku` with literal text escaped for path-to-regexp 8. */
export function toRouterPath(path: string): string {
  return path
    .split(/(\{[^}]+\})/)
    .map((part) =>
      part.startsWith('{') && part.endsWith('}')
        ? `:${JSON.stringify(part.slice(1, -1))}`
        : part.replace(/[{}()[\]+?!:*\\]/g, (c) => `\\${c}`),
    )
    .join('');
}

export function createRouteMatcher(routes: readonly Route[]): RouteMatcher {
  const routers = { async: new Router(), bulk: new Router() };
  const byLayer = new Map<Layer, Route>();
  const noop = async () => {};
  for (const route of routes) {
    for (const kind of ['async', 'bulk'] as const) {
      // Registered without the spec's trailing slash: non-strict matching then takes the URL with or
      // without it, as Magento's router does.
      const path = toRouterPath((kind === 'async' ? route.asyncPath : route.bulkPath).replace(/(.)\/+$/, '$1'));
      const layer = routers[kind].register(path, [route.method], noop, { sensitive: true, strict: false });
      byLayer.set(layer as Layer, route);
    }
  }
  return {
    traits: {
      patch: routes.some((r) => r.method === 'PATCH'),
      unversioned: routes.some((r) => !/^\/V\d+(\/|$)/.test(r.template)),
    },
    match(kind, method, path) {
      const found = routers[kind].match(path, method);
      for (const layer of found.pathAndMethod) {
        const route = byLayer.get(layer as Layer);
        if (!route) continue;
        const params = layer.params(path, layer.captures(path), {}) as Record<string, string>;
        return { route, params: { ...params } };
      }
      return null;
    },
  };
}
