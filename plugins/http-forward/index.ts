/**
 * MagentoAsync_HttpForward: the fallback for operations no plugin implements. With an upstream
 * configured, it replays the synchronous call against the real store (the async API in front of a
 * Magento that does the work), so async and bulk endpoints work before any handler is written.
 *
 * Failure mapping: what may pass on its own (5xx, 408, 429, timeouts, refused or reset
 * connections) is a RetriableError; any other 4xx is the upstream's own verdict on the input, an
 * OperationError carrying its Magento message and code.
 */
import { definePlugin, OperationError, RetriableError, type Handler, type StoreScope } from '../../src/plugins/api.ts';
import type { FallbackOptions, UpstreamConfig } from '../../src/plugins/loader.ts';
import type { Fallback } from '../../src/plugins/registry.ts';
import type { Route } from '../../src/routes/types.ts';

const DEFAULT_TIMEOUT_MS = 30_000;

export interface UpstreamRequest {
  method: string;
  url: string;
  body: string | undefined;
}

/**
 * The synchronous request an operation stands for: the store code the operation was accepted
 * with (so the upstream applies the same fallback rules), path parameters substituted and
 * URL-encoded, query parameters in the query string, everything else as the JSON body.
 */
export function buildRequest(
  route: Route,
  args: Record<string, unknown>,
  store: StoreScope,
  baseUrl: string,
): UpstreamRequest {
  const consumed = new Set(route.pathParams);
  let path = route.path;
  for (const name of route.pathParams) {
    const value = args[name];
    if (value === undefined || value === null) throw new OperationError(`"${name}" is required. Enter and try again.`);
    path = path.replaceAll(`{${name}}`, encodeURIComponent(String(value)));
  }
  const query = new URLSearchParams();
  for (const p of route.parameters) {
    if (p.in !== 'query') continue;
    consumed.add(p.name);
    const value = args[p.name];
    if (value !== undefined && value !== null)
      query.set(p.name, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  let body: string | undefined;
  if (route.hasBody) {
    const rest = Object.fromEntries(Object.entries(args).filter(([k]) => !consumed.has(k)));
    body = JSON.stringify(route.bodyKey ? rest[route.bodyKey] : rest);
  }
  const scope = store.explicit && store.code ? `/${encodeURIComponent(store.code)}` : '';
  const qs = query.size ? `?${query}` : '';
  return { method: route.method, url: `${baseUrl.replace(/\/+$/, '')}${scope}${path}${qs}`, body };
}

/** Magento's Phrase placeholders: `%name` from an object, `%1`… from a list. */
export function renderMessage(template: string, parameters: unknown): string {
  if (!parameters || typeof parameters !== 'object') return template;
  const lookup = (key: string): unknown =>
    Array.isArray(parameters)
      ? /^\d+$/.test(key)
        ? parameters[Number(key) - 1]
        : undefined
      : (parameters as Record<string, unknown>)[key];
  return template.replace(/%(\w+)/g, (whole, key: string) => {
    const value = lookup(key);
    return value === undefined ? whole : String(value);
  });
}

interface MagentoError {
  message?: unknown;
  parameters?: unknown;
  code?: unknown;
}

function upstreamFailure(status: number, text: string, where: string): { message: string; code: number } {
  let parsed: MagentoError | null = null;
  try {
    parsed = JSON.parse(text) as MagentoError;
  } catch {
    // Not Magento's error format (a proxy's HTML page, say): report the status instead.
  }
  if (parsed && typeof parsed.message === 'string') {
    return {
      message: renderMessage(parsed.message, parsed.parameters),
      code: Number.isInteger(parsed.code) ? (parsed.code as number) : 0,
    };
  }
  return { message: `Upstream ${where} answered HTTP ${status}.`, code: 0 };
}

export function forwarder(route: Route, upstream: UpstreamConfig): Handler {
  const timeoutMs = upstream.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async (args, ctx) => {
    const req = buildRequest(route, (args ?? {}) as Record<string, unknown>, ctx.store, upstream.baseUrl);
    const where = `${req.method} ${req.url}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    if (upstream.token) headers.Authorization = `Bearer ${upstream.token}`;
    // The same on every attempt: an upstream that honours it applies a repeated call once.
    headers['Idempotency-Key'] = ctx.operation.idempotencyKey;
    let response: Response;
    let text: string;
    try {
      response = await fetch(req.url, {
        method: req.method,
        headers,
        body: req.body,
        // Our own timeout, and the consumer's: handler timeout, or a claim it can no longer keep.
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ctx.signal]),
      });
      text = await response.text();
    } catch (error) {
      // fetch hides the reason in `cause` (ECONNREFUSED, ECONNRESET, a DNS error, …).
      const e = error as Error & { cause?: { code?: string; message?: string } };
      const reason = e.cause?.code ?? e.cause?.message ?? e.message;
      const why =
        e.name === 'TimeoutError'
          ? `timed out after ${timeoutMs} ms`
          : ctx.signal.aborted
            ? 'was aborted by the consumer'
            : `failed: ${reason}`;
      throw new RetriableError(`Upstream ${where} ${why}`, { cause: error });
    }
    ctx.log.debug({ upstream: where, status: response.status }, 'forwarded operation');
    if (response.ok) {
      if (!text) return null;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
    const { message, code } = upstreamFailure(response.status, text, where);
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      throw new RetriableError(message, { code });
    }
    throw new OperationError(message, { code });
  };
}

/** Offers a forwarding handler for every route once an upstream base URL is configured. */
export function fallback({ routes, upstream }: FallbackOptions): Fallback | undefined {
  if (!upstream?.baseUrl) return undefined;
  const byId = new Map(routes.map((r) => [r.operationId, r]));
  const cache = new Map<string, Handler>();
  return (operationId) => {
    const route = byId.get(operationId);
    if (!route) return undefined;
    let handler = cache.get(operationId);
    if (!handler) cache.set(operationId, (handler = forwarder(route, upstream)));
    return handler;
  };
}

export default definePlugin({
  name: 'MagentoAsync_HttpForward',
  compatibility: '^1.0.0',
});
