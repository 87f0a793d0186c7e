/**
 * Issue 20's scenario at full size: slow forwarded operations behind a 16-slot upstream, one
 * consumer process started as an operator starts it (`queue:consumers:start`):
 *
 *   node bench/capacity.bench.ts [operations=500] [minMs=1000] [maxMs=2000] [concurrency=16] [maxInFlight=16] [expireInSeconds=10]
 *
 * A loopback upstream answers each call after a latency drawn evenly from minMs–maxMs (seeded, the
 * same sequence every run) and counts the calls per `Idempotency-Key`. The consumer runs with
 * `consumer.concurrency` and `consumer.expireInSeconds` as given and `upstream.maxInFlight` slots.
 * Before claims were limited to what can start (main at af57e49): 98 of 598 calls were repeats,
 * and the log had handler timeouts for handlers whose own call took 1–2 s.
 * Printed: repeated calls (the promise: 0), handler timeouts in the consumer's log, the most calls
 * in flight at once, and the time from the first call to the last operation complete beside
 * the same run's floor: the upstream's summed answer times divided by its slots (no consumer could
 * be faster), with the load average.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ident } from '../src/db/pool.ts';
import { createBoss, ensureQueues } from '../src/queue/boss.ts';
import { seedBulk } from '../test/consumer/seed.ts';
import { createTestDatabase, TEST_CRYPT_KEY } from '../test/support/db.ts';

const N = Number(process.argv[2] ?? 500);
const MIN_MS = Number(process.argv[3] ?? 1000);
const MAX_MS = Number(process.argv[4] ?? 2000);
const CONCURRENCY = Number(process.argv[5] ?? 16);
const MAX_IN_FLIGHT = Number(process.argv[6] ?? 16);
const EXPIRE = Number(process.argv[7] ?? 10);
const CLI = fileURLToPath(new URL('../bin/magento-async.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// A seeded generator (mulberry32): every run draws the same latencies.
let seed = 20;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const perKey = new Map<string, number>();
let inFlight = 0;
let peak = 0;
let answeredMs = 0;
/** performance.now() of the first call. */
let firstCall = 0;
const upstream = createServer((req, res) => {
  void (async () => {
    for await (const _ of req);
    const key = String(req.headers['idempotency-key']);
    firstCall ||= performance.now();
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
    peak = Math.max(peak, ++inFlight);
    const ms = MIN_MS + random() * (MAX_MS - MIN_MS);
    await new Promise((resolve) => setTimeout(resolve, ms));
    answeredMs += ms;
    inFlight--;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"id":1}');
  })();
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/rest`;

const db = await createTestDatabase('bench_capacity');
const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
const dir = mkdtempSync(join(tmpdir(), 'bench-capacity-'));
try {
  await ensureQueues(boss, ['products']);
  const bulk = await seedBulk(db.pool, boss, db.schema, {
    count: N,
    // One no plugin implements: http-forward sends it to the upstream.
    operationId: 'PostV1ProductsSkuMedia',
    topic: 'async.V1.products.sku.media.POST',
    args: (k) => ({ sku: `cap-${k}`, entry: { media_type: 'image', label: `cap-${k}` } }),
  });
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      schema: db.schema,
      bossSchema: db.bossSchema,
      logLevel: 'warn',
      upstream: { baseUrl, maxInFlight: MAX_IN_FLIGHT },
      consumer: { concurrency: CONCURRENCY, expireInSeconds: EXPIRE },
    }),
  );
  console.log(
    `${N} forwarded operations, upstream ${MIN_MS}–${MAX_MS} ms, consumer concurrency ${CONCURRENCY}, ` +
      `expireInSeconds ${EXPIRE}, upstream.maxInFlight ${MAX_IN_FLIGHT}; load average at the start ${load()}`,
  );
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'queue:consumers:start', 'products'], {
    cwd: ROOT,
    env: { CRYPT_KEY: TEST_CRYPT_KEY, ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const s = ident(db.schema);
  for (;;) {
    const { rows } = await db.pool.query<{ open: number }>(
      `SELECT count(*) FILTER (WHERE status = 4 OR will_retry)::int AS open FROM ${s}.operation WHERE bulk_uuid = $1`,
      [bulk],
    );
    if (rows[0]!.open === 0) break;
    if (child.exitCode !== null) throw new Error(`the consumer exited: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const ended = performance.now();
  const seconds = (ended - started) / 1000;
  const working = (ended - firstCall) / 1000;
  child.kill('SIGTERM');
  const code = await exited;
  const { rows } = await db.pool.query<{ status: number; n: number }>(
    `SELECT status, count(*)::int AS n FROM ${s}.operation WHERE bulk_uuid = $1 GROUP BY status ORDER BY status`,
    [bulk],
  );
  const calls = [...perKey.values()].reduce((a, b) => a + b, 0);
  const repeats = calls - perKey.size;
  const timeouts = stderr.match(/did not finish within/g)?.length ?? 0;
  const floor = answeredMs / 1000 / MAX_IN_FLIGHT;
  console.log(`statuses ${JSON.stringify(rows)}; consumer exit code ${code}`);
  console.log(`upstream calls ${calls} for ${perKey.size} operations: ${repeats} repeated`);
  console.log(`handler timeouts in the consumer's log: ${timeouts}; most calls in flight at once: ${peak}`);
  console.log(
    `${working.toFixed(1)} s from the first call to the last complete (${seconds.toFixed(1)} s from the consumer's ` +
      `start); floor ${floor.toFixed(1)} s (the upstream's summed answer times / ${MAX_IN_FLIGHT} slots): ` +
      `${(floor / working).toFixed(2)}x of the floor; load average at the end ${load()}`,
  );
  if (repeats > 0 || timeouts > 0) process.exitCode = 1;
} finally {
  upstream.close();
  upstream.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
  await boss.stop({ graceful: false });
  await db.drop();
}
