/**
 * OAuth 1.0a request verification, in the order and with the messages of Magento's
 * `Magento\Framework\Oauth\Oauth::validateAccessTokenRequest`, its token provider
 * (`Magento\Integration\Model\Oauth\Token\Provider`) and nonce generator
 * (`Magento\Integration\Model\Oauth\Nonce\Generator`). Where we differ, on purpose:
 * - a timestamp older than the window is refused, not only one too far ahead: Magento keeps every
 *   nonce forever instead, and a replay is only as impossible as its nonce table is complete;
 * - the timestamp failure says what Magento's inner exception says ("Incorrect timestamp value…")
 *   where Magento wraps it into "An error occurred validating the nonce";
 * - the signature is checked before the nonce is recorded, so forged requests cannot use up
 *   nonces or fill the table;
 * - a signature made with RFC 5849's byte order of parameters is accepted beside Laminas's
 *   natural order (see oauth-signature.ts): the two only differ for some search criteria.
 */
import { timingSafeEqual } from 'node:crypto';
import { configDefaults } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import * as sql from '../db/sql/integrations.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { CREDENTIAL_LENGTH } from './credentials.ts';
import type { Encryptor } from './encryptor.ts';
import type { AuthRequest } from './oauth-request.ts';
import { hmacSignature, isSignatureMethod, signatureBaseString, type SignatureMethod } from './oauth-signature.ts';
import type { Caller } from '../kernel/caller.ts';
import { USER_TYPE_INTEGRATION, callerOf, hashToken, registerCallerCache } from './tokens.ts';

const REQUIRED = [
  'oauth_consumer_key',
  'oauth_signature',
  'oauth_signature_method',
  'oauth_nonce',
  'oauth_timestamp',
  'oauth_token',
] as const;

export interface OAuthVerifierOptions {
  encryptor: Encryptor;
  /** Accepted distance of `oauth_timestamp` from the clock, either way, in seconds. Default 600. */
  timestampWindowSeconds?: number;
  /** How long a consumer lookup is cached, in ms (default 10000, as bearer tokens). */
  ttlMs?: number;
  maxEntries?: number;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

export interface OAuthVerifier {
  /** The integration that signed the request; throws the Magento-format 400/401 otherwise. */
  verify(request: AuthRequest, params: ReadonlyMap<string, string>): Promise<Caller>;
  clear(): void;
}

interface Consumer {
  id: number;
  name: string;
  resources: string[];
  consumerSecret: string;
  accessTokenHash: Buffer;
  tokenSecret: string;
  revoked: boolean;
}

/** PHP's `(int)` of a numeric-leading string: `"12abc"` is 12, `"abc"` is 0. */
function phpInt(value: string): number {
  const m = /^\s*[+-]?\d+/.exec(value);
  return m ? Number(m[0]) : 0;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createOAuthVerifier(pool: Pool, schema: string, options: OAuthVerifierOptions): OAuthVerifier {
  const { encryptor } = options;
  const windowSeconds = options.timestampWindowSeconds ?? configDefaults.oauth.timestampWindowSeconds;
  const ttlMs = options.ttlMs ?? 10_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { consumer: Consumer | null; expires: number }>();
  registerCallerCache(pool, () => cache.clear());
  let lastCleanup = 0;

  const consumerByKey = async (key: string): Promise<Consumer | null> => {
    const t = now();
    const hit = cache.get(key);
    if (hit && hit.expires > t) return hit.consumer;
    const { rows } = await pool.query<Consumer>(sql.selectIntegrationByConsumerKey(schema), [key]);
    const row = rows[0];
    const consumer = row
      ? {
          ...row,
          consumerSecret: encryptor.decrypt(row.consumerSecret),
          tokenSecret: encryptor.decrypt(row.tokenSecret),
        }
      : null;
    cache.delete(key);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, { consumer, expires: t + ttlMs });
    return consumer;
  };

  const cleanupNonces = (nowSeconds: number): void => {
    if (nowSeconds - lastCleanup < 60) return;
    lastCleanup = nowSeconds;
    // Best effort: a failed cleanup only leaves rows for the next one.
    pool.query(sql.deleteExpiredNonces(schema), [nowSeconds - windowSeconds]).catch(() => {});
  };

  return {
    async verify(request, params) {
      const version = params.get('oauth_version');
      // PHP's `'1.0' != $version` compares numeric strings as numbers: "1" and "1.00" pass.
      if (version !== undefined && !(/^\s*\d+(\.\d+)?\s*$/.test(version) && Number(version) === 1)) {
        throw new WebapiError(E.OAUTH_VERSION_UNSUPPORTED, [version]);
      }
      const missing = REQUIRED.filter((name) => !params.has(name));
      if (missing.length === 1) throw new WebapiError(E.FIELD_REQUIRED, { fieldName: missing[0] });
      if (missing.length > 1) {
        const errors = missing.map((fieldName) => new WebapiError(E.FIELD_REQUIRED, { fieldName }));
        throw new WebapiError(E.INPUT_EXCEPTIONS, undefined, { errors });
      }
      const get = (name: (typeof REQUIRED)[number]) => params.get(name)!;
      const token = get('oauth_token');
      if (token.length !== CREDENTIAL_LENGTH) throw new WebapiError(E.OAUTH_TOKEN_LENGTH);
      const method = get('oauth_signature_method');
      if (!isSignatureMethod(method)) throw new WebapiError(E.OAUTH_SIGNATURE_METHOD, [method]);

      const key = get('oauth_consumer_key');
      if (key.length !== CREDENTIAL_LENGTH) throw new WebapiError(E.OAUTH_CONSUMER_KEY_LENGTH);
      const consumer = await consumerByKey(key);
      if (!consumer) throw new WebapiError(E.OAUTH_CONSUMER_UNKNOWN);

      const nowSeconds = Math.floor(now() / 1000);
      const timestamp = phpInt(get('oauth_timestamp'));
      if (timestamp <= 0 || timestamp > nowSeconds + windowSeconds || timestamp < nowSeconds - windowSeconds) {
        throw new WebapiError(E.OAUTH_TIMESTAMP);
      }

      const tokenHash = hashToken(token);
      if (!timingSafeEqual(tokenHash, consumer.accessTokenHash)) {
        const { rowCount } = await pool.query(sql.selectIntegrationIdByAccessToken(schema), [tokenHash]);
        throw new WebapiError(rowCount ? E.OAUTH_TOKEN_NOT_OF_CONSUMER : E.OAUTH_TOKEN_UNKNOWN);
      }
      if (consumer.revoked) throw new WebapiError(E.OAUTH_TOKEN_REVOKED);

      if (!signatureMatches(request, params, method, get('oauth_signature'), consumer)) {
        throw new WebapiError(E.OAUTH_SIGNATURE_INVALID);
      }

      const { rowCount } = await pool.query(sql.insertNonce(schema), [consumer.id, get('oauth_nonce'), timestamp]);
      if (!rowCount) throw new WebapiError(E.OAUTH_NONCE_USED, [String(consumer.id)]);
      cleanupNonces(nowSeconds);
      return callerOf(USER_TYPE_INTEGRATION, consumer.id, consumer.name, consumer.resources);
    },
    clear() {
      cache.clear();
    },
  };
}

function signatureMatches(
  request: AuthRequest,
  params: ReadonlyMap<string, string>,
  method: SignatureMethod,
  presented: string,
  consumer: Consumer,
): boolean {
  const sign = (base: string) => hmacSignature(method, base, consumer.consumerSecret, consumer.tokenSecret);
  try {
    const magento = signatureBaseString(request.method, request.url, params, 'magento');
    if (sameString(sign(magento), presented)) return true;
    // Not Magento's order: a client following RFC 5849 signs in byte order (it differs rarely).
    const rfc = signatureBaseString(request.method, request.url, params, 'rfc5849');
    return rfc !== magento && sameString(sign(rfc), presented);
  } catch {
    // A URL the base string cannot be built from (not http or https) has no valid signature.
    return false;
  }
}
