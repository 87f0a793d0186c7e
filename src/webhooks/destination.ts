/**
 * Where a webhook may go. Twice checked: when the bulk is accepted (the URL against the configured
 * allow-list, so a client learns at once with a 400), and when it is sent (the addresses its host
 * resolves to, so a name pointing at 127.0.0.1 or a cloud metadata address is refused unless
 * loopback is allowed; the request then connects to exactly the address that was checked).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { WebhooksConfig } from '../config.ts';
import { E, WebapiError } from '../errors/catalogue.ts';

const MAX_URL_LENGTH = 2048;

/** The URL, parsed, if it is well formed and on the allow-list; else the client's 400. */
export function allowedUrl(raw: string, config: Pick<WebhooksConfig, 'allow'>): URL {
  let url: URL;
  try {
    if (raw.length > MAX_URL_LENGTH) throw new Error('too long');
    url = new URL(raw);
  } catch {
    throw new WebapiError(E.CALLBACK_URL_INVALID, { url: raw.slice(0, 200), reason: 'not an absolute URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebapiError(E.CALLBACK_URL_INVALID, { url: raw, reason: 'only http and https are supported' });
  }
  if (url.username || url.password) {
    throw new WebapiError(E.CALLBACK_URL_INVALID, { url: url.origin, reason: 'credentials in the URL' });
  }
  if (!config.allow.some((rule) => matchesRule(url, rule))) {
    throw new WebapiError(E.CALLBACK_URL_NOT_ALLOWED, { url: raw });
  }
  return url;
}

/** `https://host[:port]` allows that origin; `host` or `*.domain` allows the host on any scheme and port. */
export function matchesRule(url: URL, rule: string): boolean {
  if (/^https?:\/\//i.test(rule)) {
    try {
      return new URL(rule).origin === url.origin;
    } catch {
      return false;
    }
  }
  const host = url.hostname.toLowerCase();
  const r = rule.toLowerCase();
  if (r.startsWith('*.')) return host.endsWith(r.slice(1)) && host.length > r.length - 1;
  return host === r;
}

/** Addresses a webhook must not reach unless `allowLoopback`: loopback, link-local, unspecified. */
export function isLocalAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split('.').map(Number) as [number, number];
    return a === 127 || a === 0 || (a === 169 && b === 254);
  }
  const v6 = address.toLowerCase();
  return v6 === '::1' || v6 === '::' || /^fe[89ab]/.test(v6);
}

/** The address to connect to, or the reason the destination is refused. */
export async function resolveDestination(
  url: URL,
  allowLoopback: boolean,
): Promise<{ address: string; family: number } | { refused: string }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const found = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true }).catch(() => [] as { address: string; family: number }[]);
  if (found.length === 0) return { refused: `cannot resolve ${host}` };
  const local = found.filter((f) => isLocalAddress(f.address));
  if (local.length > 0 && !allowLoopback) return { refused: `${host} resolves to a local address` };
  return found[0]!;
}
