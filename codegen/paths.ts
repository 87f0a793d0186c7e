/**
 * Path rules of CONTRACT §1 and §4: everything derived from a spec path key and a method.
 * Kept free of any document access so each rule is testable on its own.
 */

const PARAM = /\{([^}/]*)\}/g;

/** The path key without `#fragment` (Box: `/files/{file_id}#get_shared_link`) or trailing slash, `{p}` kept. */
export function normalisePath(pathKey: string): string {
  let path = pathKey.split('#')[0] ?? '';
  if (!path.startsWith('/')) path = `/${path}`;
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path;
}

/** Matching template: the normalised path with `{p}` → `:p`. */
export function toTemplate(pathKey: string): string {
  return normalisePath(pathKey).replace(PARAM, (_, name: string) => `:${name}`);
}

/** The path key as the spec spells it (trailing slash kept, as Magento's async schema keeps it), without `#fragment`. */
function specSpelling(pathKey: string): string {
  const path = pathKey.split('#')[0] ?? '';
  return path.startsWith('/') ? path : `/${path}`;
}

export function asyncPath(pathKey: string): string {
  return `/async${specSpelling(pathKey)}`;
}

/** Magento's `ucfirst` of every whole-segment parameter: only the first character changes. */
export function bulkPath(pathKey: string): string {
  const path = specSpelling(pathKey).replace(
    /\/\{([^}/]*)\}(?=\/|$)/g,
    (_, name: string) => `/by${name.charAt(0).toUpperCase()}${name.slice(1)}`,
  );
  return `/async/bulk${path}`;
}

/** Path parameter names in URL order. */
export function pathParamNames(pathKey: string): string[] {
  return [...normalisePath(pathKey).matchAll(PARAM)].map((m) => m[1] ?? '');
}

/** The operation's Magento service, from `x-magento-service` as `{class, method}` or `Class::method`. */
export function magentoService(value: unknown): { class: string; method: string } | null {
  if (typeof value === 'string') {
    const [cls, method] = value.split('::');
    return cls && method ? { class: cls, method } : null;
  }
  if (typeof value === 'object' && value !== null) {
    const { class: cls, method } = value as { class?: unknown; method?: unknown };
    if (typeof cls === 'string' && typeof method === 'string' && cls && method) return { class: cls, method };
  }
  return null;
}

/**
 * Magento's topic: the service form when the spec names the service (lower case throughout),
 * else the route lookup key (`async.V1.products.sku.PUT`, method upper case).
 */
export function topicName(pathKey: string, method: string, service: unknown = null): string {
  const named = magentoService(service);
  if (named) {
    const parts = `${named.class}.${named.method}`.split('\\').filter(Boolean);
    return `async.${parts.join('.')}.${method}`.toLowerCase();
  }
  const segments = normalisePath(pathKey)
    .split('/')
    .filter(Boolean)
    .map((segment) => segment.replace(/[{}]/g, '').replace(/^:+/, ''));
  return `async.${segments.join('.')}.${method.toUpperCase()}`;
}

const VERSION = /^V\d+$/;

/**
 * The entity an operation belongs to: the first segment after a leading `V<n>` (or the first
 * segment of an unversioned path), made safe as a folder name.
 */
export function entityOf(pathKey: string): string {
  const segments = normalisePath(pathKey).split('/').filter(Boolean);
  const index = segments[0] && VERSION.test(segments[0]) ? 1 : 0;
  let segment = segments[index] ?? '';
  if (segment.startsWith('{')) segment = segment.slice(1, -1);
  const safe = segment.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[-_]+|[-_]+$/g, '');
  return safe || 'root';
}

export function isParamSegment(segment: string): boolean {
  return segment.startsWith(':') || segment.startsWith('{');
}

/**
 * Literal segments before parameter segments, position by position, so a router trying routes in
 * this order matches `/V1/carts/mine` before `/V1/carts/:cartId`; ties by text then method.
 */
export function compareRoutes(
  a: { template: string; method: string },
  b: { template: string; method: string },
): number {
  const sa = a.template.split('/');
  const sb = b.template.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const pa = isParamSegment(sa[i]!);
    const pb = isParamSegment(sb[i]!);
    if (pa !== pb) return pa ? 1 : -1;
  }
  if (a.template !== b.template) return a.template < b.template ? -1 : 1;
  return a.method < b.method ? -1 : a.method > b.method ? 1 : 0;
}

/** Duplicate detection ignores parameter names: `/x/{id}` and `/x/{key}` match the same URLs. */
export function routeShape(pathKey: string): string {
  return normalisePath(pathKey).replace(PARAM, '{}');
}
