/**
 * Oversized and slow clients against a real server process (loopback only): while 16 clients send
 * 3 MiB bulks (a quarter of them 4.6 MiB, over `maxBodyBytes`) and 24 slow clients trickle declared
 * 128 KiB bodies, how much the server's resident memory grows against its configured bytes in
 * flight, and how fast a client sending ordinary small requests is served, against the same client
 * alone on the same server just before (same run). It also counts what the attackers got: 400
 * (decoded and validated in full), 408, 413, 503 + Retry-After; a reset (-1) or a refused small
 * request is a fault, printed as such. test/http/load.e2e.test.ts proves the refusals one by one.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx node bench/load.bench.ts [seconds=8]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/support/db.ts';
import { createIntegrationToken } from '../src/auth/index.ts';

const SERVE = fileURLToPath(new URL('../test/http/fixtures/serve.ts', import.meta.url));
const MIB = 1024 * 1024;
const ATTACK_MS = 1000 * Number(process.argv[2] ?? 8);
const BYTES_IN_FLIGHT = 5 * MIB;
/** Peak RSS growth allowed over the warmed-up server: the bytes in flight, decoded, with room. */
const RSS_BOUND = 240 * MIB;

const db = await createTestDatabase('bench_load');
const child = spawn(
  process.execPath,
  [
    SERVE,
    JSON.stringify({
      databaseUrl: db.url,
      overrides: {
        schema: db.schema,
        bossSchema: db.bossSchema,
        port: 0,
        cryptKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        maxBodyBytes: 4 * MIB,
        maxAcceptBytesInFlight: BYTES_IN_FLIGHT,
        maxConcurrentAccepts: 8,
        // Long enough that no 3 MiB upload on a busy machine is cut off by a 408 mid-body.
        requestTimeoutSeconds: 30,
      },
    }),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
try {
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const token = (await createIntegrationToken(db.pool, db.schema, { name: 'load', resources: 'all' })).token;
  const pid = child.pid!;

  const post = async (path: string, body: Buffer | string, method = 'POST'): Promise<number> => {
    try {
      const res = await fetch(url + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      if (res.status === 503 && res.headers.get('retry-after') !== '1') return -503;
      return res.status;
    } catch {
      return -1; // a reset or a refused connection
    }
  };

  /** A client that declares a 128 KiB body and sends 1 KiB every 100 ms until answered. */
  const slowClient = (until: number): Promise<string> => {
    const { hostname, port } = new URL(url);
    return new Promise((resolve) => {
      const socket: Socket = connect(Number(port), hostname);
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write(
          `POST /rest/default/async/bulk/V1/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${128 * 1024}\r\n\r\n[`,
        );
        timer = setInterval(() => {
          if (Date.now() > until) socket.destroy();
          else socket.write(' '.repeat(1024));
        }, 100);
      });
      socket.on('data', (c) => (answer += c.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(answer.slice(0, 12) || '(closed by the client)');
      });
    });
  };

  /** Small PUTs one after another until `until`: how many were served (202), and what else came. */
  const smallClient = async (until: number, prefix: string) => {
    const other = new Map<number, number>();
    let served = 0;
    for (let i = 0; Date.now() < until; i++) {
      const status = await post(`/rest/default/async/V1/products/${prefix}-${i}`, '{"product":{"price":1}}', 'PUT');
      if (status === 202) served++;
      else other.set(status, (other.get(status) ?? 0) + 1);
    }
    return { served, other: Object.fromEntries(other) };
  };

  const sampleRss = () => {
    let peak = rss(pid);
    const timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 100);
    return () => {
      clearInterval(timer);
      return peak;
    };
  };

  // Warm up (JIT, pools, caches) with what the attack sends, one at a time.
  const big = bulkBody(4500); // ≈ 3 MiB
  const tooBig = bulkBody(7000); // ≈ 4.6 MiB, over maxBodyBytes
  for (let i = 0; i < 3; i++) await post('/rest/default/async/bulk/V1/products', big);
  await smallClient(Date.now() + 1000, 'warm');

  // Baseline: the small client alone, as long as the attack lasts.
  const baselineRss = rss(pid);
  let stop = sampleRss();
  const alone = await smallClient(Date.now() + ATTACK_MS, 'alone');
  const alonePeak = stop();

  // The attack, with the small client beside it.
  const until = Date.now() + ATTACK_MS;
  const statuses = new Map<number, number>();
  const oversized = Array.from({ length: 16 }, async (_, i) => {
    while (Date.now() < until) {
      const s = await post('/rest/default/async/bulk/V1/products', i % 4 === 0 ? tooBig : big);
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  });
  const attackRss = rss(pid);
  stop = sampleRss();
  const [slowAnswers, , attacked] = await Promise.all([
    Promise.all(Array.from({ length: 24 }, () => slowClient(until))),
    Promise.all(oversized),
    smallClient(until, 'attacked'),
  ]);
  const attackPeak = stop();
  const after = await post('/rest/default/async/V1/products/after', '{"product":{"price":1}}', 'PUT');

  const mib = (n: number) => `${(n / MIB).toFixed(0)} MiB`;
  const growth = attackPeak - attackRss;
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${ATTACK_MS / 1000} s windows`,
  );
  console.log(
    `RSS: alone ${mib(baselineRss)} → peak ${mib(alonePeak)}; attacked ${mib(attackRss)} → peak ${mib(attackPeak)} ` +
      `(+${mib(growth)}, ${(growth / BYTES_IN_FLIGHT).toFixed(1)}× the ${mib(BYTES_IN_FLIGHT)} in flight allowed)`,
  );
  console.log(
    `small requests: alone ${alone.served} served ${JSON.stringify(alone.other)}; under attack ${attacked.served} served ` +
      `${JSON.stringify(attacked.other)}; ratio ${(attacked.served / Math.max(1, alone.served)).toFixed(2)}×`,
  );
  console.log(`oversized clients' answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  console.log(`slow clients' answers ${JSON.stringify(countBy(slowAnswers))}`);
  const faults = [
    ...(growth >= RSS_BOUND ? [`RSS grew ${mib(growth)}, over ${mib(RSS_BOUND)}`] : []),
    ...((statuses.get(-1) ?? 0) > 0 ? [`${statuses.get(-1)} oversized clients saw a reset`] : []),
    ...((statuses.get(-503) ?? 0) > 0 ? ['a 503 without Retry-After: 1'] : []),
    ...(Object.keys(attacked.other).some((s) => s !== '408') ? ['a small request was refused'] : []),
    ...(slowAnswers.some((a) => !/^HTTP\/1\.1 503|^\(closed/.test(a))
      ? ['a slow client got neither 503 nor a wait']
      : []),
    ...(after !== 202 ? [`after the attack a small request got ${after}`] : []),
  ];
  console.log(faults.length ? `FAULTS: ${faults.join('; ')}` : 'no faults');
  if (faults.length) process.exitCode = 1;
} finally {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await db.drop();
}

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** A bulk of `items` valid products whose last element is invalid: fully decoded and validated, never written. */
function bulkBody(items: number): Buffer {
  const element = JSON.stringify({ product: { sku: 'x', name: 'n'.repeat(600), price: 1.5 } });
  return Buffer.from(`[${Array(items).fill(element).join(',')},{"product":{"sku":"x","wrong_attribute":1}}]`);
}

function countBy(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
}
