/**
 * Answering `/metrics`. Protected by default: without a configured token only loopback clients
 * are answered (Prometheus on the same host, or through a port-forward); with one, every client
 * must send it as a bearer token, from anywhere.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Metrics } from './registry.ts';
import type { Logger } from '../kernel/logger.ts';

const isLoopback = (address: string | undefined) =>
  !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ message }));
}

export async function serveMetrics(
  metrics: Metrics,
  token: string | null,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Only GET is supported.');
  if (token !== null) {
    if (!tokenMatches(req.headers.authorization, token)) return refuse(res, 401, 'A valid bearer token is required.');
  } else if (!isLoopback(req.socket.remoteAddress)) {
    return refuse(res, 403, 'Metrics are answered to loopback clients only unless metrics.token is set.');
  }
  const text = await metrics.registry.metrics();
  res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** A consumer's own metrics server: `/metrics` and nothing else. */
export async function startMetricsServer(
  metrics: Metrics,
  options: { port: number; host: string; token: string | null; log: Logger },
): Promise<{ url: string; close(): Promise<void> } | null> {
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') return refuse(res, 404, 'Request does not match any route.');
    serveMetrics(metrics, options.token, req, res).catch((error: unknown) => {
      options.log.error({ err: error }, 'metrics scrape failed');
      if (!res.headersSent) refuse(res, 500, 'Metrics are unavailable.');
    });
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
