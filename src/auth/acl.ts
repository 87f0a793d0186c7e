/** Route ACL checks, as Magento's `Webapi\Authorization::isAllowed` (source notes §9). */
import { E, WebapiError } from '../errors/catalogue.ts';
import type { Caller } from '../kernel/caller.ts';
import { USER_TYPE_GUEST } from './tokens.ts';

/** The resource that makes a route public (Magento's `GuestAuthorization` plugin). */
export const ANONYMOUS = 'anonymous';

/** Whether `caller` may call a route with these ACL resources. */
export function isAllowed(caller: Caller, routeAcl: readonly string[]): boolean {
  if (routeAcl.includes(ANONYMOUS)) return true;
  // An empty list would pass "every resource granted" vacuously; a route the spec left without
  // resources is treated as needing some authenticated caller, never as public.
  if (routeAcl.length === 0) return caller.userType !== USER_TYPE_GUEST;
  if (caller.resources === 'all') return true;
  const granted = caller.resources;
  // Magento requires ALL of a route's resources, not any of them.
  return routeAcl.every((r) => granted.has(r));
}

/**
 * Magento joins the route's resources with comma AND space: `RequestValidator::checkPermissions`
 * does `implode(', ', $route->getAclResources())` (magento/magento2,
 * app/code/Magento/Webapi/Controller/Rest/RequestValidator.php). With one resource, the usual
 * case, there is no separator at all.
 */
export const RESOURCE_SEPARATOR = ', ';

/**
 * Throws 401 `The consumer isn't authorized to access %resources.` with the route's resources as
 * the parameter (`{"resources":"A, B"}`) unless the caller is allowed.
 */
export function authorize(caller: Caller, routeAcl: readonly string[]): void {
  if (!isAllowed(caller, routeAcl)) {
    throw new WebapiError(E.UNAUTHORIZED, { resources: routeAcl.join(RESOURCE_SEPARATOR) });
  }
}
