/**
 * A loopback HTTP server that plays the upstream store for the http-forward tests and counts what
 * a polite client must keep low: connections opened, calls in flight at once, when each call arrived.
 */
import type { TestContext } from 'node:test';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simulatedWork } from '../../support/wait.ts';

export interface Call {
  method: string;
  url: string;
  /** The last path segment (the sku of `/V1/products/{sku}`). */
  sku: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  /** When it arrived (performance.now() of this process) and when it was answered. */
  at: number;
  answeredAt: number;
  /** Which connection it came on (1, 2, … in the order they were opened). */
  connection: number;
}

export interface Answer {
  /** Drop the connection instead of answering (as a server closing an idle connection does). */
  reset?: boolean;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface StoreOptions {
  /** How long each call takes to answer, ms. Default 0. */
  latencyMs?: number;
  /** The answer to a call; `n` counts this sku's calls (1 for the first). Default 200 `{"sku": …}`. */
  answer?: (call: Call, n: number) => Answer | undefined;
}

export interface LoopbackStore {
  /** REST root to configure as `upstream.baseUrl`. */
  baseUrl: string;
  calls: Call[];
  connections(): number;
  /** Most calls in flight at once so far. */
  peakInFlight(): number;
  /** Connections closed by the client while a call on them was unanswered. */
  abandoned(): number;
  /** Connections closed so far, by either side. */
  closed(): number;
}

export async function loopbackStore(t: TestContext, options: StoreOptions = {}): Promise<LoopbackStore> {
  const calls: Call[] = [];
  const perSku = new Map<string, number>();
  let connections = 0;
  let inFlight = 0;
  let peak = 0;
  let abandoned = 0;
  let closed = 0;
  const ids = new WeakMap<object, number>();
  const server = createServer(async (req: IncomingMessage, res) => {
    const at = performance.now();
    peak = Math.max(peak, ++inFlight);
    let answered = false;
    res.once('close', () => {
      inFlight--;
      if (!answered) abandoned++;
    });
    for await (const _ of req);
    const sku = decodeURIComponent(req.url!.split('?')[0]!.split('/').pop()!);
    const call: Call = {
      method: req.method!,
      url: req.url!,
      sku,
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      authorization: req.headers.authorization,
      at,
      answeredAt: 0,
      connection: ids.get(req.socket)!,
    };
    calls.push(call);
    const n = perSku.set(sku, (perSku.get(sku) ?? 0) + 1).get(sku)!;
    const answer = options.answer?.(call, n) ?? { status: 200, body: { sku } };
    if (answer.reset) return void req.socket.destroy();
    const reply = () => {
      if (res.destroyed) return;
      answered = true;
      call.answeredAt = performance.now();
      res
        .writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers })
        .end(JSON.stringify(answer.body ?? {}));
    };
    if (options.latencyMs) void simulatedWork(options.latencyMs).then(reply);
    else reply();
  });
  server.on('connection', (socket) => {
    ids.set(socket, ++connections);
    socket.once('close', () => closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest`,
    calls,
    connections: () => connections,
    peakInFlight: () => peak,
    abandoned: () => abandoned,
    closed: () => closed,
  };
}
