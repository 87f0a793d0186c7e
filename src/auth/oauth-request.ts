/**
 * What an OAuth 1.0a request carries, read the way Magento's `Magento\Framework\Oauth\Helper\Request`
 * reads it:
 * - the `Authorization` header counts as OAuth when it contains `oauth ` anywhere (case-insensitive);
 *   after that, comma-separated `name="value"` pairs whose name matches `oauth_[a-z_-]+` are kept,
 *   names and values `rawurldecode`d (so `realm` is ignored);
 * - every query parameter that is not an OAuth one is added, `urldecode`d (a `+` is a space), and
 *   only when it has exactly one `=`: `?searchCriteria` alone is not signed, `?searchCriteria=` is;
 * - the last occurrence of a name wins (a PHP array).
 * A JSON body is never part of the signature. Form-encoded bodies are (RFC 5849 §3.4.1.3.1), but
 * no route here accepts one, so they are not read.
 */

export interface AuthRequest {
  method: string;
  /** The URL as the client addressed it: scheme, host (with port) and the raw path and query. */
  url: string;
  authorization?: string | null;
}

const PROTOCOL_PARAMETER = /oauth_[a-z_-]+/;

/** PHP `rawurldecode`: %XX only; a malformed escape stays as it is. */
function rawUrlDecode(value: string): string {
  return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      // Not valid UTF-8: PHP keeps the bytes, we keep the escapes (the signature then fails).
      return run;
    }
  });
}

/** PHP `urldecode`: `+` is a space, then %XX. */
function urlDecode(value: string): string {
  return rawUrlDecode(value.replace(/\+/g, ' '));
}

/** The OAuth parameters of a header, or null when it is not an OAuth header. */
export function oauthHeaderParameters(header: string | null | undefined): Map<string, string> | null {
  if (!header) return null;
  const at = header.toLowerCase().indexOf('oauth ');
  if (at === -1) return null;
  const params = new Map<string, string>();
  for (const part of header.slice(at + 6).split(',')) {
    const trimmed = part.trim();
    const eq = trimmed.indexOf('=');
    if (eq === -1) continue;
    const name = trimmed.slice(0, eq);
    if (!PROTOCOL_PARAMETER.test(name)) continue;
    params.set(rawUrlDecode(name), rawUrlDecode(trimTrailing(trimLeading(trimmed.slice(eq + 1)))));
  }
  return params;
}

// PHP trim($value, '"') strips every leading and trailing double quote.
const trimLeading = (v: string) => v.replace(/^"+/, '');
const trimTrailing = (v: string) => v.replace(/"+$/, '');

/**
 * The parameters Magento signs for a request: the header's OAuth parameters plus the non-OAuth
 * query parameters. Null when the request carries no OAuth header or nothing to verify.
 */
export function oauthRequestParameters(request: AuthRequest): Map<string, string> | null {
  const params = oauthHeaderParameters(request.authorization);
  if (params === null) return null;
  const query = queryString(request.url);
  if (query) {
    for (const pair of query.split('&')) {
      const parts = pair.split('=');
      if (parts.length !== 2 || PROTOCOL_PARAMETER.test(parts[0]!)) continue;
      params.set(urlDecode(parts[0]!), urlDecode(parts[1]!));
    }
  }
  return params.size === 0 ? null : params;
}

function queryString(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return '';
  const hash = url.indexOf('#', q);
  return url.slice(q + 1, hash === -1 ? undefined : hash);
}

/** Minimal shape of a Node `IncomingMessage` (Koa's `ctx.req`). */
export interface HttpRequestLike {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  socket?: object | null;
}

// A TLS socket (node:tls TLSSocket) has `encrypted: true`; a plain one has no such property.
const isEncrypted = (socket: object | null | undefined): boolean =>
  Boolean(socket && (socket as { encrypted?: boolean }).encrypted);

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The `AuthRequest` of an HTTP request. The scheme honours `X-Forwarded-Proto`, as Magento does
 * with its default offloader header, so a signature made for `https://store/...` verifies behind a
 * TLS-terminating proxy. Trusting it is safe here: it only selects which URL the signature must
 * cover, and a forged value makes the signature fail rather than pass.
 */
export function authRequestOf(req: HttpRequestLike): AuthRequest {
  const forwarded = firstHeader(req.headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase();
  const scheme = forwarded === 'https' || forwarded === 'http' ? forwarded : isEncrypted(req.socket) ? 'https' : 'http';
  const host = firstHeader(req.headers.host) ?? 'localhost';
  return {
    method: req.method ?? 'GET',
    url: `${scheme}://${host}${req.url ?? '/'}`,
    authorization: firstHeader(req.headers.authorization) ?? null,
  };
}
