/**
 * A loopback stand-in for a Magento store, run as a child process so neither side of a benchmark
 * hosts it on its own event loop:
 *
 *   node bench/support/upstream.ts <latencyMs> [workers=0]   → prints {"port": N} on stdout
 *
 * Every call is answered after `latencyMs` with 200 and a small product JSON. With `workers` > 0 it
 * serves at most that many calls at once and queues the rest in arrival order, as PHP-FPM does
 * with `pm.max_children` workers: its own limit is then `workers / latency` calls per second.
 * `GET /stats` answers {calls, peakInFlight, connections} since the last `POST /reset`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const latencyMs = Number(process.argv[2] ?? 50);
const workers = Number(process.argv[3] ?? 0);

let calls = 0;
let inFlight = 0;
let peakInFlight = 0;
let connections = 0;
let busy = 0;
const queued: (() => void)[] = [];

function serve(run: () => void): void {
  if (workers <= 0 || busy < workers) {
    busy++;
    run();
  } else queued.push(run);
}

function done(): void {
  const next = queued.shift();
  if (next) next();
  else busy--;
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.url === '/stats') {
    res
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ calls, peakInFlight, connections }));
    return;
  }
  if (req.url === '/reset') {
    calls = peakInFlight = connections = 0;
    res.writeHead(204).end();
    return;
  }
  calls++;
  peakInFlight = Math.max(peakInFlight, ++inFlight);
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () =>
    serve(() =>
      setTimeout(() => {
        const sku = decodeURIComponent(req.url!.split('/').pop()!);
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ id: calls, sku, updated_at: '2026-01-01 00:00:00', size: body.length }));
        inFlight--;
        done();
      }, latencyMs),
    ),
  );
});
server.on('connection', () => connections++);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
