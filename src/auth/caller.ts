/**
 * The auth step of every HTTP route (accept, status API, admin dashboard): one function turns a
 * request into a caller with its ACL resources.
 * - `Authorization: Bearer <token>`: a CLI-issued integration token, an admin token, or (with
 *   `oauth.integrationAsBearer`) an integration's access token; an unknown one is a guest, so
 *   protected routes answer Magento's 401 `The consumer isn't authorized to access %resources.`;
 * - `Authorization: OAuth …`: an OAuth 1.0a signed request of an integration, verified as Magento
 *   does; a bad one throws its Magento-format 400/401 (src/auth/oauth.ts);
 * - anything else: a guest.
 */
import type { Pool } from '../db/pool.ts';
import type { Encryptor } from './encryptor.ts';
import { createOAuthVerifier } from './oauth.ts';
import { authRequestOf, oauthRequestParameters, type AuthRequest, type HttpRequestLike } from './oauth-request.ts';
import type { Caller } from '../kernel/caller.ts';
import { GUEST, bearerToken, createAuthenticator } from './tokens.ts';

export type { AuthRequest, HttpRequestLike };

export interface CallerResolverOptions {
  encryptor: Encryptor;
  /** Accept integrations' access tokens as bearer tokens (Magento 2.4.4+ default: off). */
  integrationAsBearer?: boolean;
  timestampWindowSeconds?: number;
  /** Cache TTL of lookups in ms (default 10000). */
  ttlMs?: number;
}

export interface CallerResolver {
  resolve(request: AuthRequest): Promise<Caller>;
  /** `resolve` for a Node HTTP request (Koa's `ctx.req`). */
  resolveHttp(req: HttpRequestLike): Promise<Caller>;
}

export function createCallerResolver(pool: Pool, schema: string, options: CallerResolverOptions): CallerResolver {
  const bearer = createAuthenticator(pool, schema, {
    integrationAsBearer: options.integrationAsBearer ?? false,
    ttlMs: options.ttlMs,
  });
  const oauth = createOAuthVerifier(pool, schema, {
    encryptor: options.encryptor,
    timestampWindowSeconds: options.timestampWindowSeconds,
    ttlMs: options.ttlMs,
  });
  const resolve = async (request: AuthRequest): Promise<Caller> => {
    if (bearerToken(request.authorization) !== null) return bearer.authenticate(request.authorization);
    const params = oauthRequestParameters(request);
    return params ? oauth.verify(request, params) : GUEST;
  };
  return { resolve, resolveHttp: (req) => resolve(authRequestOf(req)) };
}
