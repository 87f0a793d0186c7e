/**
 * Answering `/metrics`. Every scrape must send the configured token as a bearer token, from
 * anywhere. The one exception is `loopbackOnly`, which the operator sets to say that no reverse
 * proxy runs in front of the port: then a loopback peer is Prometheus on the same host. Behind a
 * proxy on the same host every client would look like loopback, so a loopback peer alone proves
 * nothing; a request carrying forwarding headers is refused even then.
 */
import type { IncomingMessage, Server } from 'node:http';
import { http } from '../http/node-http.ts';
import type { Context } from 'koa';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Metrics } from './registry.ts';
import type { Logger } from '../kernel/logger.ts';

export interface MetricsAccess {
  token: string | null;
  loopbackOnly: boolean;
}

const isLoopback = (address: string | undefined) =>
  !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'];
const forwarded = (req: IncomingMessage) => FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined);

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface MetricsAnswer {
  status: number;
  contentType: string;
  body: string;
}

const refusal = (status: number, message: string): MetricsAnswer => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify({ message }),
});

/** The answer to a scrape: the metrics, or why not. */
export async function scrape(metrics: Metrics, access: MetricsAccess, req: IncomingMessage): Promise<MetricsAnswer> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return refusal(405, 'Only GET is supported.');
  const local = access.loopbackOnly && isLoopback(req.socket.remoteAddress) && !forwarded(req);
  if (!local) {
    if (access.token === null) {
      return refusal(403, 'Metrics need metrics.token, or metrics.loopbackOnly with no proxy in front.');
    }
    if (!tokenMatches(req.headers.authorization, access.token)) {
      return refusal(401, 'A valid bearer token is required.');
    }
  }
  return { status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
}

/** `/metrics` as a route of the server's router. */
export function metricsRoute(metrics: Metrics, access: MetricsAccess): (ctx: Context) => Promise<void> {
  return async (ctx) => {
    const answer = await scrape(metrics, access, ctx.req);
    ctx.status = answer.status;
    ctx.type = answer.contentType;
    ctx.body = answer.body;
  };
}

/** A consumer's own metrics server: `/metrics` and nothing else. */
export async function startMetricsServer(
  metrics: Metrics,
  options: MetricsAccess & { port: number; host: string; log: Logger },
): Promise<{ url: string; close(): Promise<void> } | null> {
  const server: Server = http.createServer((req, res) => {
    const answer =
      (req.url ?? '').split('?')[0] !== '/metrics'
        ? Promise.resolve(refusal(404, 'Request does not match any route.'))
        : scrape(metrics, options, req);
    answer.then(
      (a) => {
        res.writeHead(a.status, { 'Content-Type': a.contentType });
        res.end(req.method === 'HEAD' ? undefined : a.body);
      },
      (error: unknown) => {
        options.log.error({ err: error }, 'metrics scrape failed');
        if (!res.headersSent) res.writeHead(500).end();
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, resolve);
    });
  } catch (error) {
    // A consumer runs without metrics rather than not at all (say a second one on the same port).
    options.log.warn({ err: error, port: options.port }, 'metrics server not started');
    return null;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/metrics`;
  options.log.info({ url }, 'consumer metrics');
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
