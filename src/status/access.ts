/**
 * Who may see and change which bulk (CONTRACT §7). A caller holding
 * `Magento_Logging::system_magento_logging_bulk_operations` sees every bulk, as in Magento. Any
 * other authenticated caller sees only bulks whose `user_type`/`user_id` are its own; for any other
 * bulk, existing or not, it gets the same 401 as Magento's ACL failure, so the answer never tells
 * whether a foreign uuid exists. Guests always get 401 (all guests share user id 0, so "own" means
 * nothing for them), as Magento answers guests on these routes.
 *
 * Retry and cancel change a bulk, and Magento's resource is a read (its Bulk Actions Log shows each
 * admin only their own bulks): a caller changes its own bulks, and another caller's only with
 * `MagentoAsync::bulk_operations_manage_all`, which also shows every bulk.
 */
import type { Caller } from '../kernel/caller.ts';
import { E, WebapiError } from '../errors/catalogue.ts';

export const BULK_OPERATIONS_RESOURCE = 'Magento_Logging::system_magento_logging_bulk_operations';
export const BULK_MANAGE_ALL_RESOURCE = 'MagentoAsync::bulk_operations_manage_all';
const USER_TYPE_GUEST = 4;

export interface Access {
  caller: Caller;
  /** Holds the ACL resource: every bulk is visible. */
  all: boolean;
  /** Holds the manage-all resource: every bulk may be retried and canceled. */
  manageAll: boolean;
}

export interface BulkOwner {
  user_type: number | null;
  user_id: number | null;
}

export type IsAllowed = (caller: Caller, resource: string) => Promise<boolean> | boolean;

export const unauthorized = () => new WebapiError(E.UNAUTHORIZED, { resources: BULK_OPERATIONS_RESOURCE });
const notFound = (uuid: string) => new WebapiError(E.BULK_NOT_FOUND, { bulkUuid: uuid });

export async function resolveAccess(callerFn: () => Promise<Caller>, isAllowed: IsAllowed): Promise<Access> {
  const caller = await callerFn();
  const manageAll = await isAllowed(caller, BULK_MANAGE_ALL_RESOURCE);
  if (manageAll || (await isAllowed(caller, BULK_OPERATIONS_RESOURCE))) return { caller, all: true, manageAll };
  if (caller.userType === USER_TYPE_GUEST) throw unauthorized();
  return { caller, all: false, manageAll: false };
}

/** Throws the 404 (ACL holders) or 401 (everyone else) for a bulk the caller may not see. */
export function checkBulk(a: Access, uuid: string, owner: BulkOwner | undefined): void {
  if (a.all) {
    if (!owner) throw notFound(uuid);
    return;
  }
  if (!owner || !owns(a, owner)) throw unauthorized();
}

/**
 * Throws unless the caller may retry or cancel the bulk: its own, or any with the manage-all
 * resource. A reader of every bulk learns nothing new from a 404 or from a 401 naming that resource.
 */
export function checkBulkChange(a: Access, uuid: string, owner: BulkOwner | undefined): void {
  checkBulk(a, uuid, owner);
  if (!a.manageAll && !owns(a, owner!)) {
    throw new WebapiError(E.UNAUTHORIZED, { resources: BULK_MANAGE_ALL_RESOURCE });
  }
}

const owns = (a: Access, owner: BulkOwner) =>
  owner.user_type === a.caller.userType && owner.user_id === a.caller.userId;
