/**
 * Closed-loop HTTP load generator, run as a child process so the server under test keeps its own
 * event loop (the machine has 2 cores; client and server still share them).
 *
 *   node bench/support/load.ts '<LoadSpec as JSON>'   → prints one LoadResult as JSON on stdout
 *
 * Closed loop (default): each of `clients` loops send → read the whole response → send again over
 * a keep-alive agent (maxSockets = clients): the rate the server sustains.
 * Open loop (`ratePerSecond`): requests start on a fixed schedule of Poisson arrivals (seeded, so
 * every run offers the same sequence) whatever the server does, over up to `clients` keep-alive
 * sockets; a request's latency counts from its scheduled start, so time spent waiting for a free
 * socket behind a slow answer is in the figure (no coordinated omission).
 * Requests finishing during the warm-up are not counted; the measured window starts when the
 * warm-up ends and closes at `durationMs` (requests still in flight then are awaited but not
 * counted). Any status other than `expectStatus` is counted and reported.
 */
import http from 'node:http';
import { bulkBody, singleBody } from './bodies.ts';
import { percentile, poissonArrivals } from './arrivals.ts';

export interface LoadSpec {
  url: string;
  token: string;
  method: 'POST' | 'PUT';
  /** 'bulk': POST `path` with a `bulkItems`-element body; 'single': PUT `path` + '/<sku>'. */
  kind: 'bulk' | 'single';
  path: string;
  bulkItems?: number;
  /** Closed loop: concurrent clients. Open loop: most sockets (requests in flight) at once. */
  clients: number;
  /** Open loop: requests started per second (Poisson arrivals); absent: closed loop. */
  ratePerSecond?: number;
  warmupMs: number;
  durationMs: number;
  expectStatus?: number;
}

export interface LoadResult {
  /** Requests completed inside the measured window. */
  requests: number;
  /** Requests completed in the whole run, warm-up included (to relate CPU time to work). */
  total: number;
  /** CPU seconds of the load generator itself. */
  cpuSeconds: number;
  seconds: number;
  unexpected: number;
  firstUnexpected: string | null;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Latencies measured (requests started and finished inside the window). */
  samples: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const target = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.clients });
  const expect = spec.expectStatus ?? 202;
  // Bodies are built up front (a few distinct ones, reused) so the client does no JSON work.
  const bodies: Buffer[] = [];
  const paths: string[] = [];
  if (spec.kind === 'bulk') {
    for (let i = 0; i < 4; i++) bodies.push(Buffer.from(bulkBody(spec.bulkItems ?? 1000, i)));
  } else {
    for (let i = 0; i < 256; i++) {
      const sku = `BENCH-${String(i).padStart(6, '0')}`;
      bodies.push(Buffer.from(singleBody(i)));
      paths.push(`${spec.path}/${sku}`);
    }
  }
  const headers = (body: Buffer) => ({
    Authorization: `Bearer ${spec.token}`,
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
  });

  let counted = 0;
  let total = 0;
  let unexpected = 0;
  let firstUnexpected: string | null = null;
  const latencies: number[] = [];
  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const measureTo = measureFrom + spec.durationMs;

  const send = (path: string, body: Buffer) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        { host: target.hostname, port: target.port, path, method: spec.method, agent, headers: headers(body) },
        (res) => {
          // Read whole, but decoded only when it is reported (the client's CPU is on the same cores).
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            if (status !== expect) chunks.push(c);
          });
          res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  let seq = 0;
  const one = async (scheduled?: number) => {
    const n = seq++;
    const body = bodies[n % bodies.length]!;
    const path = spec.kind === 'bulk' ? spec.path : paths[n % paths.length]!;
    const sent = scheduled ?? performance.now();
    const res = await send(path, body);
    const done = performance.now();
    total++;
    if (res.status !== expect) {
      unexpected++;
      firstUnexpected ??= `${res.status} ${res.text.slice(0, 300)}`;
    }
    // Open loop: every request scheduled inside the window has its latency counted, however late it
    // ends (dropping the ones that end after the window would drop the slow tail).
    const ends = scheduled === undefined ? done <= measureTo : sent < measureTo;
    if (sent >= measureFrom && ends) {
      if (done <= measureTo) counted++;
      latencies.push(done - sent);
    } else if (done > measureFrom && done <= measureTo) {
      // Started in the warm-up, finished in the window: counts for throughput, not latency.
      counted++;
    }
  };
  if (spec.ratePerSecond === undefined) {
    await Promise.all(
      Array.from({ length: spec.clients }, async () => {
        while (performance.now() < measureTo) await one();
      }),
    );
  } else {
    await poissonArrivals(spec.ratePerSecond, start, measureTo, one);
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const cpu = process.cpuUsage();
  return {
    requests: counted,
    total,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    seconds: spec.durationMs / 1000,
    unexpected,
    firstUnexpected,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? NaN,
    samples: latencies.length,
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const result = await runLoad(spec);
  process.stdout.write(JSON.stringify(result) + '\n');
}
