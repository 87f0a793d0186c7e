/**
 * Store views: the rows of the `store` table. Magento's two fixed scopes exist from the first
 * migration: the admin scope (id 0, code `admin`, what `all` in a URL selects) and the default
 * store view (id 1, code `default`).
 */
import type { Pool } from '../db/pool.ts';
import { withTransaction } from '../db/pool.ts';
import { insertStore, lockStores, selectStoreByCode, selectStores } from '../db/sql/stores.ts';

export interface Store {
  id: number;
  code: string;
  name: string;
  websiteId: number;
  isActive: boolean;
}

export const ADMIN_STORE_ID = 0;
export const DEFAULT_STORE_ID = 1;

/** Magento's store code rule (`Store::validateCode`, lower-case only here) and length limit. */
export const STORE_CODE_PATTERN = /^[a-z][a-z0-9_]*$/;
export const STORE_CODE_MAX_LENGTH = 32;
/**
 * `all` is the URL keyword for the admin scope: a store view named `all` could never be
 * addressed. `admin` and `default` already exist, so they are caught as duplicates too, but a
 * reserved-word message is clearer.
 */
const RESERVED_CODES = new Set(['all', 'admin', 'default']);

/** A store view that cannot be created; the message is meant for the operator. */
export class InvalidStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStoreError';
  }
}

export async function listStores(pool: Pool, schema: string): Promise<Store[]> {
  const { rows } = await pool.query<Store>(selectStores(schema));
  return rows;
}

export interface NewStore {
  code: string;
  name: string;
  websiteId?: number;
}

/** Checks a new store's fields; returns the problem or null. Pure, so the CLI can check first. */
export function validateNewStore(store: NewStore): string | null {
  const { code, name, websiteId = 1 } = store;
  if (typeof code !== 'string' || code.length === 0) return 'The store code is required.';
  if (code.length > STORE_CODE_MAX_LENGTH) {
    return `The store code "${code}" is too long: at most ${STORE_CODE_MAX_LENGTH} characters.`;
  }
  if (!STORE_CODE_PATTERN.test(code)) {
    return `The store code "${code}" is invalid: it must start with a letter (a-z) and contain only lowercase letters (a-z), numbers (0-9) or underscores (_).`;
  }
  if (RESERVED_CODES.has(code)) return `The store code "${code}" is reserved.`;
  if (typeof name !== 'string' || name.trim() === '') return 'The store name is required.';
  if (!Number.isInteger(websiteId) || websiteId < 1)
    return `The website id must be a positive integer, got ${websiteId}.`;
  return null;
}

/** Creates a store view with the next free id. Throws `InvalidStoreError` for bad or taken codes. */
export async function createStore(pool: Pool, schema: string, store: NewStore): Promise<Store> {
  const problem = validateNewStore(store);
  if (problem) throw new InvalidStoreError(problem);
  return withTransaction(pool, async (client) => {
    await client.query(lockStores(schema));
    const existing = await client.query(selectStoreByCode(schema), [store.code]);
    if (existing.rowCount) throw new InvalidStoreError(`A store with the code "${store.code}" already exists.`);
    const { rows } = await client.query<Store>(insertStore(schema), [
      store.code,
      store.name.trim(),
      store.websiteId ?? 1,
    ]);
    return rows[0]!;
  });
}
