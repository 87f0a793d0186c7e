/**
 * http-forward throughput through the real consumer, beside a plain HTTP client against the same
 * loopback upstream in the same run:
 *
 *   npx node bench/forward.bench.ts [operations=1000] [concurrency=64] [batchSize=16] [inFlight=64] [rounds=3] [latencyMs=50]
 *
 * Two upstreams (child processes, bench/support/upstream.ts): one answering every call after
 * `latencyMs`, and one that also serves at most 16 calls at once and queues the rest (a PHP-FPM
 * pool of 16 workers). Against each, per round: `operations` product saves accepted into the
 * database (not timed), then run by the consumer (`concurrency` batches of `batchSize`, http-forward
 * with `upstream.maxInFlight` = inFlight) from its start until the last one is recorded; and the
 * baseline: the same number of PUTs by a plain client keeping `inFlight` calls in flight over
 * keep-alive connections. The sides alternate per round; ratios are of summed times, with the
 * median and spread of the per-round ratios. The upstream's own counters say how many calls were in
 * flight at most and how many connections each side opened. A third figure, the forwarding handler
 * called directly with as many in flight, splits the gap between the plugin and the consumer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import type { PgBoss } from 'pg-boss';
import * as forward from '../plugins/http-forward/index.ts';
import { startConsumer } from '../src/consumer/consumer.ts';
import { createPool, ident } from '../src/db/pool.ts';
import { loadPlugins } from '../src/plugins/loader.ts';
import { analyzeJobs, createBoss, ensureQueues } from '../src/queue/boss.ts';
import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '../test/support/db.ts';
import { context, NO_CODE, sampleRoutes } from '../test/plugins/fixtures.ts';
import { seedBulk, silentLog } from '../test/consumer/seed.ts';

const N = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 64);
const BATCH = Number(process.argv[4] ?? 16);
const IN_FLIGHT = Number(process.argv[5] ?? 64);
const ROUNDS = Math.max(1, Number(process.argv[6] ?? 3));
const LATENCY_MS = Number(process.argv[7] ?? 50);
const FPM_WORKERS = 16;

interface Upstream {
  baseUrl: string;
  child: ChildProcess;
  stats(): Promise<{ calls: number; peakInFlight: number; connections: number }>;
  reset(): Promise<void>;
}

async function startUpstream(workers: number): Promise<Upstream> {
  const child = spawn(
    process.execPath,
    [new URL('./support/upstream.ts', import.meta.url).pathname, String(LATENCY_MS), String(workers)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/rest`,
    child,
    stats: async () => (await fetch(`${origin}/stats`)).json() as never,
    reset: async () => void (await fetch(`${origin}/reset`, { method: 'POST' })),
  };
}

/** The baseline: `count` PUTs, `IN_FLIGHT` at a time, over a keep-alive pool of as many connections. */
async function plainClient(upstream: Upstream, count: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const put = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const sku = `plain-${i}`;
      const body = JSON.stringify({ product: { sku, price: i } });
      const req = http.request(
        `${upstream.baseUrl}/V1/products/${sku}`,
        {
          method: 'PUT',
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) await put(next++);
    }),
  );
  const ms = performance.now() - start;
  agent.destroy();
  return ms;
}

/** The shipped forward plugin alone, to `upstream`, capped at `IN_FLIGHT` calls: what both timed runs load. */
function forwardRegistry(upstream: Upstream) {
  return loadPlugins({
    routes: sampleRoutes,
    pluginsDir: null,
    modules: [{ source: 'plugins/http-forward/index.ts', module: forward }],
    upstream: { baseUrl: upstream.baseUrl, maxInFlight: IN_FLIGHT },
    frameworkVersion: '1.0.0',
  });
}

/**
 * The forwarding handler alone, `IN_FLIGHT` at a time, without the consumer around it: what the
 * plugin itself costs beside the plain client (the rest of the gap is the consumer's).
 */
async function handlerAlone(upstream: Upstream, count: number): Promise<number> {
  const registry = await forwardRegistry(upstream);
  const ctx = context(null as never, NO_CODE);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const sku = `alone-${next++}`;
        await registry.invoke('PutV1ProductsSku', { sku, product: { sku, price: 1 } }, ctx);
      }
    }),
  );
  return performance.now() - start;
}

const db = await createTestDatabase('bench_forward');
// As `startConfiguredConsumer` sizes it: a batch holds at most one client at a time.
const pool = createPool({ connectionString: db.url, max: Math.min(CONCURRENCY + 4, 24), applicationName: 'bench' });
const boss: PgBoss = await createBoss({ connectionString: db.url, schema: db.bossSchema, max: 10 });
const upstreams: Upstream[] = [];
try {
  await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 600 });
  const cryptKey = randomBytes(32);

  /** `count` operations accepted (not timed), then the consumer's run of them, timed. */
  const consume = async (upstream: Upstream, count: number): Promise<number> => {
    await seedBulk(pool, boss, db.schema, {
      count,
      operationId: 'PutV1ProductsSku',
      args: (key) => ({ sku: `fwd-${key}`, product: { sku: `fwd-${key}`, price: key } }),
    });
    await analyzeJobs(pool, db.bossSchema);
    const registry = await forwardRegistry(upstream);
    const start = performance.now();
    const consumer = await startConsumer({
      pool,
      boss,
      schema: db.schema,
      registry,
      queues: ['async.products'],
      batchSize: BATCH,
      concurrency: CONCURRENCY,
      maxMessages: count,
      cryptKey,
      log: silentLog,
    });
    await consumer.done;
    const ms = performance.now() - start;
    if (consumer.handled() !== count) throw new Error(`consumer handled ${consumer.handled()} of ${count}`);
    return ms;
  };

  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `forward bench: ${N} operations x ${ROUNDS} rounds, upstream latency ${LATENCY_MS} ms, consumer concurrency ${CONCURRENCY} x batch ${BATCH}, ` +
      `maxInFlight ${IN_FLIGHT}, plain client ${IN_FLIGHT} in flight; load average ${load}`,
  );
  for (const workers of [0, FPM_WORKERS]) {
    const upstream = await startUpstream(workers);
    upstreams.push(upstream);
    const label = workers ? `upstream serving ${workers} at once (queues the rest)` : 'upstream without a limit';
    // Warm-up: connections, JIT, the consumer's prepared statements.
    await plainClient(upstream, Math.min(N, 200));
    await consume(upstream, Math.min(N, 200));
    let plainMs = 0;
    let consumerMs = 0;
    let aloneMs = 0;
    const ratios: number[] = [];
    const peaks: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let p = 0;
      let c = 0;
      const sides = [
        async () => {
          await upstream.reset();
          p = await plainClient(upstream, N);
          const s = await upstream.stats();
          peaks.push(`plain ${s.peakInFlight}/${s.connections}`);
        },
        async () => {
          await upstream.reset();
          c = await consume(upstream, N);
          const s = await upstream.stats();
          peaks.push(`forward ${s.peakInFlight}/${s.connections}`);
        },
      ];
      if (r % 2) sides.reverse();
      for (const side of sides) await side();
      aloneMs += await handlerAlone(upstream, N);
      plainMs += p;
      consumerMs += c;
      ratios.push(p / c);
      console.log(
        `  ${label}, round ${r + 1}: plain ${((N / p) * 1000).toFixed(0)} calls/s, ` +
          `http-forward ${((N / c) * 1000).toFixed(0)} ops/s (${(p / c).toFixed(2)}x)`,
      );
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(
      `${label}: plain client ${((N * ROUNDS * 1000) / plainMs).toFixed(0)} calls/s, ` +
        `http-forward through the consumer ${((N * ROUNDS * 1000) / consumerMs).toFixed(0)} ops/s, ` +
        `ratio ${(plainMs / consumerMs).toFixed(2)}x (goal >= 0.8x); per round median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}x, ` +
        `spread ${sorted[0]!.toFixed(2)}-${sorted.at(-1)!.toFixed(2)}x; ` +
        `the handler alone (no consumer) ${((N * ROUNDS * 1000) / aloneMs).toFixed(0)} ops/s = ${(plainMs / aloneMs).toFixed(2)}x; ` +
        `peak in flight / connections at the upstream: ${peaks.join(', ')}`,
    );
  }
  const { rows } = await pool.query<{ status: number; n: number }>(
    `SELECT status, count(*)::int AS n FROM ${ident(db.schema)}.operation GROUP BY status ORDER BY status`,
  );
  console.log(`statuses (warm-up included): ${JSON.stringify(rows)}; load average ${loadavg()[0]!.toFixed(2)}`);
} finally {
  for (const u of upstreams) u.child.kill('SIGTERM');
  await boss.stop({ graceful: false });
  await pool.end();
  await db.drop();
}
