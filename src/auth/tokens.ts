/**
 * Integration tokens: bearer tokens issued by the CLI, stored as sha256 hashes.
 *
 * Why a plain sha256 and not a password hash: the token is 32 random bytes, so there is nothing to
 * brute-force and no salt or stretching is needed; the hash only keeps a leaked table from leaking
 * usable tokens, and it must be cheap because it runs on every uncached request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from '../db/pool.ts';
import type { Caller } from '../kernel/caller.ts';
import { insertToken, revokeToken, selectBearer } from '../db/sql/tokens.ts';

/** Magento's user types (`UserContextInterface`): what goes on the bulk as `user_type`. */
export const USER_TYPE_INTEGRATION = 1;
export const USER_TYPE_ADMIN = 2;
export const USER_TYPE_CUSTOMER = 3;
export const USER_TYPE_GUEST = 4;

/** Stored in `resources` for a token that may do everything (Magento's `Magento_Backend::all`). */
export const ALL_RESOURCES = 'all';
const MAGENTO_ALL = 'Magento_Backend::all';

export const GUEST: Readonly<Caller> = Object.freeze({
  userType: USER_TYPE_GUEST,
  userId: 0,
  resources: new Set<string>() as ReadonlySet<string>,
  tokenName: null,
});

export interface NewToken {
  name: string;
  resources: 'all' | readonly string[];
}

export interface IssuedToken {
  id: number;
  /** The bearer token. Shown once: only its hash is stored. */
  token: string;
}

const RESOURCE_PATTERN = /^[^\s,]+$/;

/** The resources to store for a grant: `{all}`, or the distinct resources; throws on a bad one. */
export function normaliseResources(input: 'all' | readonly string[]): string[] {
  if (input === ALL_RESOURCES) return [ALL_RESOURCES];
  const resources = [...new Set(input)];
  if (resources.length === 0) throw new Error('At least one ACL resource is required (or "all").');
  const bad = resources.find((r) => typeof r !== 'string' || !RESOURCE_PATTERN.test(r));
  if (bad !== undefined) throw new Error(`Invalid ACL resource ${JSON.stringify(bad)}.`);
  return resources;
}

/** A `--resources` value: `all`, or a comma-separated list. */
export function parseResourceList(text: string): 'all' | string[] {
  if (text.trim() === ALL_RESOURCES) return ALL_RESOURCES;
  return text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Issues a token: 32 random bytes, base64url (43 characters). */
export async function createIntegrationToken(pool: Pool, schema: string, input: NewToken): Promise<IssuedToken> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '') throw new Error('The token name is required.');
  const resources = normaliseResources(input.resources);
  const token = randomBytes(32).toString('base64url');
  const { rows } = await pool.query<{ id: number }>(insertToken(schema), [name, hashToken(token), resources]);
  return { id: rows[0]!.id, token };
}

/** Revokes a token; true when it existed and was active. Takes effect within the cache TTL. */
export async function revokeIntegrationToken(pool: Pool, schema: string, id: number): Promise<boolean> {
  const { rowCount } = await pool.query(revokeToken(schema), [id]);
  if (rowCount) forgetCachedCallers(pool);
  return Boolean(rowCount);
}

/** This process forgets every cached lookup at once; other processes do within their cache TTL. */
export function forgetCachedCallers(pool: Pool): void {
  for (const clear of cacheClearers.get(pool) ?? []) clear();
}

// Every authenticator's `clear`, per pool, so a revocation in this process takes effect at once.
const cacheClearers = new WeakMap<Pool, Set<() => void>>();

/** Registers a cache to be cleared by `forgetCachedCallers` (for caches outside this module). */
export function registerCallerCache(pool: Pool, clear: () => void): void {
  let set = cacheClearers.get(pool);
  if (!set) cacheClearers.set(pool, (set = new Set()));
  set.add(clear);
}

/** The token of `Authorization: Bearer <token>`, or null. The scheme is case-insensitive (RFC 7235). */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

export interface Authenticator {
  authenticate(authorizationHeader: string | undefined | null): Promise<Caller>;
  /** Drops every cached lookup. */
  clear(): void;
}

export interface AuthenticatorOptions {
  /**
   * How long a lookup is cached, in ms (default 10000). A revoked token keeps working for at most
   * this long on other processes: the price of not querying per request.
   */
  ttlMs?: number;
  /** Most cached lookups (default 10000); the oldest go first. Bounds memory under token spraying. */
  maxEntries?: number;
  /**
   * Whether an integration's OAuth access token is also accepted as a bearer token (Magento's
   * `oauth/consumer/enable_integration_as_bearer`). Default false.
   */
  integrationAsBearer?: boolean;
  now?: () => number;
}

interface TokenRow {
  id: number;
  name: string;
  tokenHash: Buffer;
  resources: string[];
  userType: number;
  expiresAt: Date | null;
}

/** The caller a set of granted resources describes. */
export function callerOf(userType: number, userId: number, name: string, resources: readonly string[]): Caller {
  const all = resources.includes(ALL_RESOURCES) || resources.includes(MAGENTO_ALL);
  return Object.freeze({ userType, userId, resources: all ? 'all' : new Set(resources), tokenName: name });
}

/**
 * Resolves bearer tokens to callers with a short cache.
 *
 * Constant time: the lookup is by the sha256 of the presented token through the unique index, so
 * what an attacker controls (the token) reaches the comparison only through a hash whose bytes
 * they cannot steer; index timing can leak at most how many leading hash bytes matched, which says
 * nothing about any stored token. The fetched hash is then compared again with `timingSafeEqual`,
 * so the decision itself never depends on an early-exit byte comparison.
 *
 * Unknown tokens are cached too (as guests): otherwise a client sending garbage tokens would cost
 * a query per request. The cache is keyed by the hash, so no token is kept in memory in the clear.
 */
export function createAuthenticator(pool: Pool, schema: string, options: AuthenticatorOptions = {}): Authenticator {
  const ttlMs = options.ttlMs ?? 10_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { caller: Readonly<Caller>; expires: number }>();

  const asBearer = options.integrationAsBearer ?? false;
  const lookup = async (hash: Buffer): Promise<{ caller: Readonly<Caller>; expiresAt: number | null }> => {
    const { rows } = await pool.query<TokenRow>(selectBearer(schema), [hash, asBearer]);
    const row = rows[0];
    if (!row || row.tokenHash.length !== hash.length || !timingSafeEqual(row.tokenHash, hash)) {
      return { caller: GUEST, expiresAt: null };
    }
    return {
      caller: callerOf(row.userType, row.id, row.name, row.resources),
      expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    };
  };

  registerCallerCache(pool, () => cache.clear());
  return {
    async authenticate(header) {
      const token = bearerToken(header);
      if (token === null) return GUEST;
      const hash = hashToken(token);
      const key = hash.toString('base64');
      const t = now();
      const hit = cache.get(key);
      if (hit && hit.expires > t) return hit.caller;
      const { caller, expiresAt } = await lookup(hash);
      cache.delete(key);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      // An admin token stops working when it expires, not up to a TTL later.
      cache.set(key, { caller, expires: Math.min(t + ttlMs, expiresAt ?? Infinity) });
      return caller;
    },
    clear() {
      cache.clear();
    },
  };
}

// One authenticator (and so one cache) per pool and schema, for the plain `authenticate` function.
const authenticators = new WeakMap<Pool, Map<string, Authenticator>>();

/**
 * The caller of a request: an integration for a valid bearer token, else a guest (user type 4,
 * id 0). A bad or revoked token is a guest too, so anonymous routes still work and protected ones
 * answer 401 through `authorize`. Cached for 10 s per token (see `createAuthenticator`).
 */
export function authenticate(
  pool: Pool,
  schema: string,
  authorizationHeader: string | undefined | null,
): Promise<Caller> {
  let bySchema = authenticators.get(pool);
  if (!bySchema) authenticators.set(pool, (bySchema = new Map()));
  let auth = bySchema.get(schema);
  if (!auth) bySchema.set(schema, (auth = createAuthenticator(pool, schema)));
  return auth.authenticate(authorizationHeader);
}
