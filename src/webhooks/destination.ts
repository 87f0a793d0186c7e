/**
 * Where a webhook may go. Twice checked: when the bulk is accepted (the URL against the configured
 * allow-list, so a client learns at once with a 400), and when it is sent (the addresses its host
 * resolves to, classified by `classifyAddress`, so a name or literal pointing at 127.0.0.1, a
 * private network or a cloud metadata address is refused unless allowed; the request then connects
 * to exactly the address that was checked).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
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

/**
 * What an address is, for a webhook: `public` (sent to), `loopback` (only with `allowLoopback`),
 * `private` (RFC 1918, carrier-grade NAT, IPv6 unique-local, local-use NAT64: only with
 * `allowPrivate`) or `special` (never: unspecified, link-local with the cloud metadata services,
 * multicast, broadcast, reserved, documentation, Teredo...). An IPv4 address carried inside IPv6
 * (IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated, NAT64 `64:ff9b::/96`, 6to4) is what it carries:
 * the network delivers it there. The ranges are ipaddr.js's, kept up to date with IANA's registries.
 */
export type AddressClass = 'public' | 'loopback' | 'private' | 'special';

export function classifyAddress(address: string): { class: AddressClass; range: string } {
  const ip = ipaddr.parse(address);
  if (METADATA.some(([net, bits]) => ip.kind() === net.kind() && ip.match(net, bits))) {
    return { class: 'special', range: 'cloud metadata' };
  }
  if (ip.kind() === 'ipv4') return { class: classOfV4Range(ip.range()), range: ip.range() };
  const v6 = ip as ipaddr.IPv6;
  const carried = embeddedIPv4(v6);
  if (carried) {
    const inner = classOfV4Range(carried.range());
    return { class: inner, range: `${v6.range()} of ${carried.range()}` };
  }
  const range = v6.range();
  const cls: AddressClass =
    range === 'unicast'
      ? 'public'
      : range === 'loopback'
        ? 'loopback'
        : range === 'uniqueLocal' || range === 'rfc6052'
          ? 'private'
          : 'special';
  return { class: cls, range };
}

/**
 * Cloud metadata services outside the link-local range, so `allowPrivate` does not open them: AWS's
 * IPv6 endpoint (a unique-local address) and Alibaba Cloud's (in carrier-grade NAT space).
 */
const METADATA = ['fd00:ec2::254/128', '100.100.100.200/32'].map((cidr) => ipaddr.parseCIDR(cidr));

function classOfV4Range(range: string): AddressClass {
  if (range === 'unicast') return 'public';
  if (range === 'loopback') return 'loopback';
  if (range === 'private' || range === 'carrierGradeNat') return 'private';
  return 'special';
}

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

/** The IPv4 address an IPv6 address delivers to, where the IPv6 form is only a wrapper for one. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = ip.parts;
  const last32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  switch (ip.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return last32();
    case 'rfc6052':
      // The local-use prefix (64:ff9b:1::/48) places the address by its own prefix length: it stays 'private'.
      return ip.match(NAT64_WELL_KNOWN) ? last32() : null;
    case '6to4':
      return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
    default:
      return null;
  }
}

export interface DestinationPolicy {
  allowLoopback: boolean;
  allowPrivate: boolean;
}

/** Why a webhook may not be sent to `address`, or null when it may. */
export function refusal(address: string, policy: DestinationPolicy): string | null {
  const { class: cls, range } = classifyAddress(address);
  if (cls === 'public' || (cls === 'loopback' && policy.allowLoopback) || (cls === 'private' && policy.allowPrivate)) {
    return null;
  }
  const unless =
    cls === 'loopback'
      ? 'refused unless webhooks.allowLoopback'
      : cls === 'private'
        ? 'refused unless webhooks.allowPrivate'
        : 'never sent to';
  return `a ${cls} address (${range}), ${unless}`;
}

/** The address to connect to, or the reason the destination is refused. */
export async function resolveDestination(
  url: URL,
  policy: DestinationPolicy,
): Promise<{ address: string; family: number } | { refused: string }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const found = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true }).catch(() => [] as { address: string; family: number }[]);
  if (found.length === 0) return { refused: `cannot resolve ${host}` };
  // Every address the name has must pass: the one connected to is the first, but a name that also
  // points inside is refused whole rather than trusted on the order of a DNS answer.
  for (const f of found) {
    const why = refusal(f.address, policy);
    if (why !== null) return { refused: `${host} resolves to ${f.address}, ${why}` };
  }
  return found[0]!;
}
