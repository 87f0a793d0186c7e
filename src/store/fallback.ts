/**
 * Magento's store-scope fallback rules for writes (CONTRACT §6, source notes §8), as a pure
 * function a handler calls to learn which scopes a write goes to. In Magento these are catalog
 * repository semantics, not WebapiAsync logic, so they live here for handlers to apply, not in the
 * consumer.
 *
 * The four rules and what the handler must do for each `mode`:
 *
 * 1. create, no store code → `global`, ids = [0, ...every store view]. Write the value at every
 *    listed scope, overwriting. A handler that models inheritance (store views without a row read
 *    the admin scope's value) may write only id 0: for a new entity that is equivalent.
 * 2. update, no store code → `only`, ids = [1]. Write the value at the default store view only;
 *    the admin default and other store views keep theirs.
 * 3. `all` (create or update) → `fill-missing`, ids = [0, ...every store view]. Write the value at
 *    id 0 (the admin default), overwriting. For each store view id, write it ONLY where that store
 *    view has no value of its own (`INSERT … ON CONFLICT DO NOTHING`); a store view's own value is
 *    never touched. A handler that models inheritance can skip the store-view ids: their missing
 *    values already fall back to id 0.
 * 4. a store code (any known store view, `default` included) → `only`, ids = [that store's id].
 *    On create, the entity itself must still come into existence (Magento saves a new entity's
 *    values at the admin scope); the store-view values go to the listed id.
 */
import type { StoreScope } from '../kernel/store-scope.ts';
import { ADMIN_STORE_ID, DEFAULT_STORE_ID } from './stores.ts';

export type WriteKind = 'create' | 'update';

export type WriteMode = 'global' | 'only' | 'fill-missing';

export interface WriteTargets {
  mode: WriteMode;
  /** Store ids, ascending, admin scope (0) first when present, no duplicates. */
  storeIds: number[];
  /** Which of the four rules applied, for logs and tests. */
  rule: 'create-without-store' | 'update-without-store' | 'all-store-views' | 'one-store';
}

/**
 * Which scopes a write applies to. `storeViews` is the list of store views (the admin scope in it,
 * if any, is ignored: it is always added where a rule needs it).
 */
export function writeTargets(scope: StoreScope, kind: WriteKind, storeViews: readonly { id: number }[]): WriteTargets {
  if (!scope.explicit) {
    if (kind === 'create') {
      return { mode: 'global', storeIds: everyScope(storeViews), rule: 'create-without-store' };
    }
    return { mode: 'only', storeIds: [DEFAULT_STORE_ID], rule: 'update-without-store' };
  }
  if (scope.id === ADMIN_STORE_ID) {
    return { mode: 'fill-missing', storeIds: everyScope(storeViews), rule: 'all-store-views' };
  }
  return { mode: 'only', storeIds: [scope.id], rule: 'one-store' };
}

function everyScope(storeViews: readonly { id: number }[]): number[] {
  const ids = new Set<number>([ADMIN_STORE_ID]);
  for (const s of storeViews) ids.add(s.id);
  return [...ids].sort((a, b) => a - b);
}
