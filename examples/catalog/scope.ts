/**
 * The four store-scope fallback rules of Magento's async endpoints (CONTRACT §6), as the store
 * a save writes its values to. Reads fall back from a store view to the admin scope (store 0),
 * so writing the admin value is how a change reaches "every view without its own value".
 */
import type { StoreScope } from '../../src/plugin.ts';
import { ADMIN_STORE_ID } from './sql.ts';

export function writeStoreId(store: StoreScope, created: boolean): number {
  // No store code: a new product gets global values; an existing one changes in the default
  // store view only (the URL-less scope is the default view, whose id the consumer gives us).
  if (!store.explicit) return created ? ADMIN_STORE_ID : store.id;
  // `all` is the admin scope (0): views with their own value keep it. A store code: that view.
  return store.id;
}

/**
 * Magento saves a required attribute at the admin scope too when a product's first value for it
 * comes from a store view (AbstractResource::_insertAttribute), so other views never see nothing.
 */
export const REQUIRED_ATTRIBUTES: readonly string[] = ['name', 'price', 'status', 'visibility'];
