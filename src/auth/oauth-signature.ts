/**
 * OAuth 1.0a signatures (RFC 5849 §3.4): the signature base string and HMAC-SHA1 / HMAC-SHA256.
 *
 * Magento signs through Laminas OAuth (`Magento\Framework\Oauth\Helper\Signature\Hmac`, which
 * extends `Laminas\OAuth\Signature\Hmac`). Two details of that code decide what a Magento client
 * library actually sends, so both orders are offered here:
 * - Laminas orders parameters with `uksort($params, 'strnatcmp')`: PHP's natural order on the
 *   encoded names, not RFC 5849's byte order. The two differ only when names hold digit runs of
 *   different lengths (`filters][10]` vs `filters][2]`), which search criteria do.
 * - Parameters arrive as a PHP array, so a repeated name keeps its last value; RFC 5849 signs
 *   every pair and breaks ties on the value.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_METHODS = ['HMAC-SHA1', 'HMAC-SHA256'] as const;
export type SignatureMethod = (typeof SIGNATURE_METHODS)[number];

export function isSignatureMethod(value: string): value is SignatureMethod {
  return (SIGNATURE_METHODS as readonly string[]).includes(value);
}

/** RFC 5849 §3.6 percent-encoding: every byte but ALPHA / DIGIT / "-" / "." / "_" / "~". */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isSpace = (c: number | undefined): boolean => c !== undefined && (c === 0x20 || (c >= 0x09 && c <= 0x0d));

/**
 * PHP's `strnatcmp` (ext/standard/strnatcmp.c, case-sensitive), byte for byte: leading zeros of the
 * whole string are skipped, digit runs compare by magnitude ("right-aligned") unless one starts
 * with 0, then digit by digit ("left-aligned", as fractions).
 */
export function strnatcmp(left: string, right: string): number {
  const a = Buffer.from(left, 'utf8');
  const b = Buffer.from(right, 'utf8');
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length > b.length ? 1 : -1;
  let ai = 0;
  let bi = 0;
  let leading = true;
  for (;;) {
    if (leading) {
      while (a[ai] === 0x30 && ai + 1 < a.length && isDigit(a[ai + 1])) ai++;
      while (b[bi] === 0x30 && bi + 1 < b.length && isDigit(b[bi + 1])) bi++;
      leading = false;
    }
    while (isSpace(a[ai])) ai++;
    while (isSpace(b[bi])) bi++;
    if (isDigit(a[ai]) && isDigit(b[bi])) {
      const fractional = a[ai] === 0x30 || b[bi] === 0x30;
      let result: number;
      let bias = 0;
      for (; ; ai++, bi++) {
        const da = isDigit(a[ai]);
        const db = isDigit(b[bi]);
        if (!da && !db) {
          result = fractional ? 0 : bias;
          break;
        }
        if (!da) {
          result = -1;
          break;
        }
        if (!db) {
          result = 1;
          break;
        }
        if (a[ai]! !== b[bi]!) {
          const order = a[ai]! < b[bi]! ? -1 : 1;
          if (fractional) {
            result = order;
            break;
          }
          if (bias === 0) bias = order;
        }
      }
      if (result !== 0) return result;
      if (ai >= a.length && bi >= b.length) return 0;
      if (ai >= a.length) return -1;
      if (bi >= b.length) return 1;
    }
    const ca = a[ai] ?? 0;
    const cb = b[bi] ?? 0;
    if (ca !== cb) return ca < cb ? -1 : 1;
    ai++;
    bi++;
    if (ai >= a.length && bi >= b.length) return 0;
    if (ai >= a.length) return -1;
    if (bi >= b.length) return 1;
  }
}

/**
 * The base string URI (RFC 5849 §3.4.1.2): scheme and host lowercased, default port dropped,
 * no query or fragment. Throws for anything but http and https, as Magento's `Hmac` does.
 */
export function baseStringUri(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error('Invalid URL provided; must be an HTTP or HTTPS scheme');
  }
  // WHATWG URL already lowercases scheme and host and drops the scheme's default port.
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export type ParameterOrder = 'magento' | 'rfc5849';
export type Parameter = readonly [name: string, value: string];

/**
 * Normalised parameters (§3.4.1.3.2) of decoded name/value pairs, `oauth_signature` excluded.
 * `magento`: unique names (the last value wins) in `strnatcmp` order; `rfc5849`: every pair, in
 * byte order of the encoded name, then of the encoded value.
 */
export function normaliseParameters(parameters: Iterable<Parameter>, order: ParameterOrder): string {
  let encoded: [string, string][] = [];
  for (const [name, value] of parameters) {
    if (name === 'oauth_signature') continue;
    encoded.push([percentEncode(name), percentEncode(value)]);
  }
  const byteOrder = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  if (order === 'magento') {
    encoded = [...new Map(encoded)].sort(([x], [y]) => strnatcmp(x, y));
  } else {
    encoded.sort(([xn, xv], [yn, yv]) => byteOrder(xn, yn) || byteOrder(xv, yv));
  }
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}

/** The signature base string (§3.4.1): METHOD&uri&parameters, each part percent-encoded. */
export function signatureBaseString(
  method: string,
  url: string,
  parameters: Iterable<Parameter>,
  order: ParameterOrder = 'rfc5849',
): string {
  return [
    method.toUpperCase(),
    percentEncode(baseStringUri(url)),
    percentEncode(normaliseParameters(parameters, order)),
  ].join('&');
}

/** HMAC-SHA1 / HMAC-SHA256 of a base string (§3.4.2), base64. The key is `consumer&token` secrets. */
export function hmacSignature(
  method: SignatureMethod,
  baseString: string,
  consumerSecret: string,
  tokenSecret = '',
): string {
  const key = `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
  return createHmac(method === 'HMAC-SHA256' ? 'sha256' : 'sha1', key)
    .update(baseString, 'utf8')
    .digest('base64');
}
