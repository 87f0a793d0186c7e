/**
 * Service-level targets. An interceptor's `target` or a handler's key may name a Magento service
 * method instead of an operationId; it then applies to every route that calls that method
 * (`Route.service`, decided by codegen/services.ts) in whatever spec is loaded — POST /V1/products
 * and PUT /V1/products/{sku} for `ProductRepositoryInterface::save` — and to none in a spec
 * without it, which is not an error: a plugin written for one Magento version loads on another.
 *
 * Names are compared by Magento's service name (`ServiceMetadata::getServiceName` without the
 * version): `Magento\Catalog\Api\ProductRepositoryInterface::save` and the pre-2.4 operationId form
 * `catalogProductRepositoryV1::save` are the same method.
 */
import type { Handler } from '../kernel/handler.ts';
import type { Route } from '../routes/types.ts';

const SERVICE = /^[^:\s]+::[A-Za-z_][A-Za-z0-9_]*$/;
const API_CLASS = /^\\?([^\\]+)\\([^\\]+)\\Api\\(.+)Interface$/;
const VERSIONED_NAME = /^([a-z][A-Za-z0-9]*?)V\d+$/;

/** Whether a target or handler key names a service method (`Class::method`) rather than an operationId. */
export function isServiceTarget(name: string): boolean {
  return SERVICE.test(name);
}

/** The comparable form of a service method: Magento's service name (no version) and the method. */
export function serviceKey(name: string): string {
  const at = name.lastIndexOf('::');
  if (at < 0) return name;
  const cls = name.slice(0, at);
  const method = name.slice(at + 2);
  const api = API_CLASS.exec(cls);
  if (api) {
    const [, vendor, module, rest] = api as unknown as [string, string, string, string];
    const parts = rest.split('\\');
    // getServiceName: the Magento vendor is dropped, and a module name the service repeats is too.
    const prefix = (vendor === 'Magento' ? '' : vendor) + (parts[0] === module ? '' : module);
    const joined = prefix + parts.join('');
    return `${joined.charAt(0).toLowerCase()}${joined.slice(1)}::${method}`;
  }
  const versioned = VERSIONED_NAME.exec(cls);
  return `${versioned ? versioned[1] : cls}::${method}`;
}

/** Whether an interceptor `target` wraps this route. */
export function targetsRoute(target: string, route: Pick<Route, 'operationId' | 'service'> | undefined): boolean {
  if (target === '*') return true;
  if (!route) return false;
  if (target === route.operationId) return true;
  return route.service !== undefined && isServiceTarget(target) && serviceKey(target) === serviceKey(route.service);
}

/**
 * A plugin's handlers (or checks) keyed by operationId only: each service key becomes a handler for every
 * route of that method, unless the plugin also has that route's operationId (the narrower key wins).
 */
export function expandServiceHandlers<T = Handler>(
  handlers: Readonly<Record<string, T | undefined>>,
  routes: readonly Pick<Route, 'operationId' | 'service'>[],
): Record<string, T | undefined> {
  const keys = Object.keys(handlers);
  if (!keys.some(isServiceTarget)) return { ...handlers };
  const expanded: Record<string, T | undefined> = {};
  for (const key of keys) if (!isServiceTarget(key)) expanded[key] = handlers[key];
  for (const key of keys.filter(isServiceTarget).sort()) {
    for (const route of routes) {
      if (Object.hasOwn(expanded, route.operationId) || !targetsRoute(key, route)) continue;
      expanded[route.operationId] = handlers[key];
    }
  }
  return expanded;
}
