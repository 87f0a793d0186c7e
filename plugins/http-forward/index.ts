/**
 * MagentoAsync_HttpForward: the fallback for operations no plugin implements. With an upstream
 * configured, it replays the synchronous call against the real store (the async API in front of a
 * Magento that does the work), so async and bulk endpoints work before any handler is written.
 *
 * Failure mapping: what may pass on its own (5xx, 408, 429, timeouts, refused or reset
 * connections) is a RetriableError; any other 4xx is the upstream's own verdict on the input, an
 * OperationError carrying its Magento message and code. A `Retry-After` on a 429 or 503 holds back
 * both the operation's retry and every other call to that upstream.
 *
 * Politeness: calls go over a bounded pool of keep-alive connections, at most `maxInFlight` at
 * once and `maxPerSecond` started per second per upstream (src/consumer/upstream-limit.ts).
 */
import { configDefaults } from '../../src/config.ts';
import { definePlugin, OperationError, RetriableError, type Handler, type StoreScope } from '../../src/plugin.ts';
import type { FallbackOptions, UpstreamConfig } from '../../src/plugins/loader.ts';
import type { Fallback } from '../../src/plugins/registry.ts';
import type { Route } from '../../src/routes/types.ts';
import { UpstreamBackedOff, UpstreamLimiter, type Release } from '../../src/consumer/upstream-limit.ts';
import { parseRetryAfter } from './retry-after.ts';
import { Transport, type UpstreamResponse } from './transport.ts';

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

/** The URL as messages may show it: a password in `upstream.baseUrl` never reaches a status. */
function withoutCredentials(url: string): string {
  const u = new URL(url);
  if (!u.username && !u.password) return url;
  u.username = '';
  u.password = '';
  return u.href;
}

/**
 * What every forwarder to one upstream shares: its connection pool and its limiter. One per
 * configured upstream and consumer process, so the caps hold across all batches and routes.
 */
export interface UpstreamLink {
  transport: Transport;
  limiter: UpstreamLimiter;
}

export function linkUpstream(upstream: UpstreamConfig): UpstreamLink {
  const limiter = new UpstreamLimiter({
    maxInFlight: upstream.maxInFlight ?? configDefaults.upstream.maxInFlight,
    maxPerSecond: upstream.maxPerSecond ?? configDefaults.upstream.maxPerSecond,
  });
  // One connection per call in flight: the limiter bounds the calls, so the pool never queues.
  return { limiter, transport: new Transport({ baseUrl: upstream.baseUrl, maxSockets: limiter.maxInFlight }) };
}

export function forwarder(route: Route, upstream: UpstreamConfig, link = linkUpstream(upstream)): Handler {
  const timeoutMs = upstream.timeoutMs ?? configDefaults.upstream.timeoutMs;
  const shown = /^[a-z]+:\/\/[^/]*@/i.test(upstream.baseUrl) ? withoutCredentials : (url: string) => url;
  return async (args, ctx) => {
    const req = buildRequest(route, (args ?? {}) as Record<string, unknown>, ctx.store, upstream.baseUrl);
    const where = `${req.method} ${shown(req.url)}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    if (upstream.token) headers.Authorization = `Bearer ${upstream.token}`;
    // The same on every attempt: an upstream that honours it applies a repeated call once.
    headers['Idempotency-Key'] = ctx.operation.idempotencyKey;
    let release: Release;
    try {
      // A wait for the upstream's per-second cap or its Retry-After is not the handler's time.
      const slot = link.limiter.acquire(ctx.signal);
      release = await (ctx.outsideDeadline ? ctx.outsideDeadline(slot) : slot);
    } catch (error) {
      if (error instanceof UpstreamBackedOff) {
        throw new RetriableError(`Upstream ${where} was not called: ${error.message}`, {
          cause: error,
          retryAfterSeconds: error.retryAfterSeconds,
        });
      }
      throw new RetriableError(
        `Upstream ${where} was aborted by the consumer while waiting to be sent (upstream.maxInFlight ${link.limiter.maxInFlight} reached)`,
        { cause: error },
      );
    }
    let response: UpstreamResponse;
    // The call's own deadline starts once it is sent; the wait for a slot is bounded by ctx.signal.
    // No header carries it: none is standard, and Magento (PHP-FPM) would honour none.
    // One controller for both ends of the call, and a timer cleared on the answer: at hundreds of
    // calls per second AbortSignal.timeout would keep a timer armed per call for the whole timeout,
    // and AbortSignal.any costs more than the call's own bookkeeping.
    const call = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      call.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => call.abort(ctx.signal.reason);
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      response = await link.transport.send(req.url, {
        method: req.method,
        headers,
        body: req.body,
        signal: call.signal,
      });
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      const why = timedOut
        ? `timed out after ${timeoutMs} ms`
        : ctx.signal.aborted
          ? 'was aborted by the consumer'
          : `failed: ${reason}`;
      throw new RetriableError(`Upstream ${where} ${why}`, { cause: error });
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      release();
    }
    const { status, text } = response;
    ctx.log.debug({ upstream: where, status }, 'forwarded operation');
    if (status >= 200 && status < 300) {
      if (!text) return null;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
    const { message, code } = upstreamFailure(status, text, where);
    if (status >= 500 || status === 408 || status === 429) {
      const retryAfterSeconds =
        status === 429 || status === 503 ? parseRetryAfter(response.headers['retry-after']) : undefined;
      // Every call to this upstream waits, not only this operation's retry.
      if (retryAfterSeconds !== undefined) link.limiter.backOff(retryAfterSeconds);
      throw new RetriableError(message, { code, retryAfterSeconds });
    }
    throw new OperationError(message, { code });
  };
}

/** Offers a forwarding handler for every route once an upstream base URL is configured. */
export function fallback({ routes, upstream }: FallbackOptions): Fallback | undefined {
  if (!upstream?.baseUrl) return undefined;
  const byId = new Map(routes.map((r) => [r.operationId, r]));
  const cache = new Map<string, Handler>();
  const link = linkUpstream(upstream);
  const resolve = (operationId: string): Handler | undefined => {
    const route = byId.get(operationId);
    if (!route) return undefined;
    let handler = cache.get(operationId);
    if (!handler) cache.set(operationId, (handler = forwarder(route, upstream, link)));
    return handler;
  };
  // The consumer claims a forwarded operation only while the upstream has a free slot for it.
  return Object.assign(resolve, { gate: link.limiter });
}

export default definePlugin({
  name: 'MagentoAsync_HttpForward',
  compatibility: '^1.0.0',
});
