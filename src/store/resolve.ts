/**
 * Store scope from the URL, as Magento's `Webapi\Controller\PathProcessor::process` (source notes
 * §3.1), and a cached resolver for the request hot path.
 */
import type { Pool } from '../db/pool.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import { ADMIN_STORE_ID, DEFAULT_STORE_ID, listStores, type Store } from './stores.ts';

/** Store views by code, as `StoreManager::getStores(false, true)`: the admin scope is not in it. */
export type StoresByCode = ReadonlyMap<string, Pick<Store, 'id' | 'code'>>;

export interface ResolvedPath {
  store: StoreScope;
  /** The path the router matches, with a leading `/` and no trailing one (`/async/V1/products`). */
  path: string;
}

/** The scope of a URL without a store code. Magento resolves it to the default store view. */
export const DEFAULT_SCOPE: Readonly<StoreScope> = Object.freeze({ id: DEFAULT_STORE_ID, code: null, explicit: false });
/** `all` is Magento's only keyword: the admin scope, store id 0. */
export const ALL_SCOPE: Readonly<StoreScope> = Object.freeze({ id: ADMIN_STORE_ID, code: 'all', explicit: true });

/**
 * Builds the lookup map from store rows. Leaves out the admin scope (reachable only as `all`) and
 * inactive store views (a disabled store view takes no writes; its code is then an unknown one).
 */
export function storesByCode(stores: readonly Store[]): Map<string, Pick<Store, 'id' | 'code'>> {
  const map = new Map<string, Pick<Store, 'id' | 'code'>>();
  for (const s of stores) {
    if (s.id !== ADMIN_STORE_ID && s.isActive) map.set(s.code, { id: s.id, code: s.code });
  }
  return map;
}

/**
 * Splits the store code off the path after `/rest` (query string already removed). Pure.
 *
 * - first segment a known store view code (exact, case-sensitive) → that store, explicit;
 * - `all` → the admin scope (id 0), explicit;
 * - anything else → the default store view, not explicit, and the path unchanged: an unknown code
 *   stays part of the path, matches no route and answers 400 as in Magento. A literal `admin` is
 *   such an unknown code.
 */
export function resolveStorePath(pathAfterRest: string, stores: StoresByCode): ResolvedPath {
  // As Magento: trim slashes, then split off the first segment only.
  const trimmed = pathAfterRest.replace(/^\/+|\/+$/g, '');
  const slash = trimmed.indexOf('/');
  const first = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const rest = slash === -1 ? '' : trimmed.slice(slash + 1);
  const store = stores.get(first);
  // The map should not hold the admin scope, but the rule must hold even if a caller's map does.
  if (store && store.id !== ADMIN_STORE_ID) {
    return { store: { id: store.id, code: store.code, explicit: true }, path: `/${rest}` };
  }
  if (first === 'all') return { store: { ...ALL_SCOPE }, path: `/${rest}` };
  return { store: { ...DEFAULT_SCOPE }, path: `/${trimmed}` };
}

export interface StoreResolver {
  /** Resolves a path; queries the database only on first use (or after `invalidate`). */
  resolve(pathAfterRest: string): Promise<ResolvedPath>;
  /** Current store views (admin included), loading them if never loaded. */
  stores(): Promise<readonly Store[]>;
  /** Forces the next call to reload, e.g. after this process created a store. */
  invalidate(): void;
}

export interface StoreResolverOptions {
  /**
   * How long a loaded list is used before a background reload, in ms (default 5000). A store view
   * created by another process becomes addressable within this time.
   */
  ttlMs?: number;
  /** Called when a background reload fails; the previous list stays in use. */
  onError?: (error: unknown) => void;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Caches the store list in memory: stores change rarely and a query per request would cost more
 * than everything else the store-scope step does. After the TTL, the stale list keeps answering
 * while one reload runs in the background (stale-while-revalidate), so no request ever waits on it
 * except the very first.
 */
export function storeResolver(pool: Pool, schema: string, options: StoreResolverOptions = {}): StoreResolver {
  const ttlMs = options.ttlMs ?? 5000;
  const now = options.now ?? Date.now;
  let list: readonly Store[] | null = null;
  let byCode: StoresByCode = new Map();
  let loadedAt = 0;
  let loading: Promise<void> | null = null;
  // Bumped by invalidate(): a reload that started before it may predate the change that caused
  // it, so its result is dropped.
  let generation = 0;

  const load = (): Promise<void> => {
    if (loading) return loading;
    const gen = generation;
    const p: Promise<void> = listStores(pool, schema)
      .then((rows) => {
        if (gen !== generation) return load();
        list = rows;
        byCode = storesByCode(rows);
        loadedAt = now();
      })
      .finally(() => {
        if (loading === p) loading = null;
      });
    loading = p;
    return p;
  };

  const current = async (): Promise<void> => {
    if (list === null) return load();
    if (now() - loadedAt >= ttlMs && loading === null) {
      load().catch((error: unknown) => options.onError?.(error));
    }
  };

  return {
    async resolve(pathAfterRest) {
      await current();
      return resolveStorePath(pathAfterRest, byCode);
    },
    async stores() {
      await current();
      return list!;
    },
    invalidate() {
      generation++;
      loading = null;
      list = null;
    },
  };
}
