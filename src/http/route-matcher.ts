/**
 * What the app's router (src/http/app.ts) needs of the route table: its paths in path-to-regexp's
 * syntax, and the traits Magento's request classifier depends on.
 */
import type { Route } from '../routes/types.ts';
import type { RouteTableTraits } from './dispatch.ts';

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

/** What the request classifier must know of the table (PATCH present, unversioned paths). */
export function routeTableTraits(routes: readonly Route[]): RouteTableTraits {
  return {
    patch: routes.some((r) => r.method === 'PATCH'),
    unversioned: routes.some((r) => !/^\/V\d+(\/|$)/.test(r.template)),
  };
}
