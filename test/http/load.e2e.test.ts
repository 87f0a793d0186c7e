/**
 * Oversized and slow clients against a real server process (loopback only, bounded in time and
 * count): while 16 clients send 3 MiB bulks and 24 slow clients trickle declared 128 KiB bodies,
 * the server's resident memory stays within a bound set by its configured bytes in flight, the
 * excess is refused with 503 + Retry-After (or 413 for bodies over the limit) rather than a reset,
 * and a client sending ordinary small requests meanwhile keeps being served (202).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createIntegrationToken } from '../../src/auth/index.ts';

const SERVE = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));
const MIB = 1024 * 1024;
const ATTACK_MS = 8000;
const BYTES_IN_FLIGHT = 5 * MIB;
/** Peak RSS growth allowed over the warmed-up server: the bytes in flight, decoded, with room. */
const RSS_BOUND = 240 * MIB;

let db: TestDatabase;
let child: ChildProcess;
let url: string;
let token: string;

before(async () => {
  db = await createTestDatabase('load');
  child = spawn(
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
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  token = (await createIntegrationToken(db.pool, db.schema, { name: 'load', resources: 'all' })).token;
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await db.drop();
});

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** A bulk of `items` valid products whose last element is invalid: fully decoded and validated, never written. */
function bulkBody(items: number): Buffer {
  const element = JSON.stringify({ product: { sku: 'x', name: 'n'.repeat(600), price: 1.5 } });
  return Buffer.from(`[${Array(items).fill(element).join(',')},{"product":{"sku":"x","wrong_attribute":1}}]`);
}

async function post(path: string, body: Buffer | string, method = 'POST'): Promise<number> {
  try {
    const res = await fetch(url + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    if (res.status === 503) assert.equal(res.headers.get('retry-after'), '1');
    return res.status;
  } catch {
    return -1; // a reset or a refused connection: counted, and must not happen
  }
}

/** A client that declares a 128 KiB body and sends 1 KiB every 100 ms until answered. */
function slowClient(until: number): Promise<string> {
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
      // eslint-disable-next-line no-restricted-syntax -- a slow client: one KiB every 100 ms
      timer = setInterval(() => {
        if (Date.now() > until) socket.destroy();
        else socket.write(' '.repeat(1024));
      }, 100);
    });
    socket.on('data', (c) => (answer += c.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve(answer.slice(0, 12));
    });
  });
}

test('oversized and slow clients: memory bounded, excess refused with 503, small requests still served', async () => {
  const pid = child.pid!;
  // Warm up (JIT, pools, caches) with what the attack sends, one at a time.
  const big = bulkBody(4500); // ≈ 3 MiB
  const tooBig = bulkBody(7000); // ≈ 4.6 MiB, over maxBodyBytes
  for (let i = 0; i < 3; i++) assert.equal(await post('/rest/default/async/bulk/V1/products', big), 400);
  assert.equal(await post('/rest/default/async/V1/products/warm', '{"product":{"price":1}}', 'PUT'), 202);
  const baseline = rss(pid);

  const until = Date.now() + ATTACK_MS;
  const statuses = new Map<number, number>();
  const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
  const oversized = Array.from({ length: 16 }, async (_, i) => {
    while (Date.now() < until) count(await post('/rest/default/async/bulk/V1/products', i % 4 === 0 ? tooBig : big));
  });
  const slow = Array.from({ length: 24 }, () => slowClient(until));
  let served = 0;
  let refused = 0;
  let late = 0;
  const small = (async () => {
    for (let i = 0; Date.now() < until; i++) {
      const status = await post(`/rest/default/async/V1/products/small-${i}`, '{"product":{"price":1}}', 'PUT');
      if (status === 202) served++;
      // On a machine busy enough, a request can take longer than the timeout to arrive whole.
      else if (status === 408) late++;
      else refused++;
    }
  })();
  let peak = baseline;
  // eslint-disable-next-line no-restricted-syntax -- sampling the server's memory while the attack runs
  const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 100);
  const slowAnswers = await Promise.all([...slow, ...oversized, small]).then((r) => r.slice(0, 24) as string[]);
  clearInterval(sampler);

  const growth = peak - baseline;
  console.log(
    `RSS ${Math.round(baseline / MIB)} MiB → peak ${Math.round(peak / MIB)} MiB (+${Math.round(growth / MIB)}); ` +
      `oversized answers ${JSON.stringify(Object.fromEntries(statuses))}; small requests ${served} served, ${late} late (408), ${refused} refused; ` +
      `slow clients ${JSON.stringify(countBy(slowAnswers))}`,
  );
  assert.ok(growth < RSS_BOUND, `RSS grew ${Math.round(growth / MIB)} MiB`);
  assert.equal(statuses.get(-1) ?? 0, 0, 'no oversized client saw a reset');
  assert.ok((statuses.get(503) ?? 0) > 0, 'the excess was refused with 503');
  assert.ok((statuses.get(413) ?? 0) > 0, 'bodies over maxBodyBytes were refused with 413');
  assert.ok(
    (statuses.get(400) ?? 0) > 0,
    'some big bulks were decoded and validated in full (400 from their last element)',
  );
  // 408: a big body that, on a busy machine, took longer than the request timeout to arrive whole.
  const known = [400, 408, 413, 503].reduce((n, code) => n + (statuses.get(code) ?? 0), 0);
  assert.equal(known, sum(statuses), 'nothing but 400, 408, 413 and 503');
  assert.ok(served > 0, 'small requests were served during the attack');
  assert.equal(refused, 0, 'no small request was refused: they take no part of the bytes budget');
  // A slow client is refused 503 at once when the budget is taken, else it waits (its 408 would
  // come at the request timeout, after the attack); never a reset.
  for (const answer of slowAnswers) assert.match(answer, /^HTTP\/1\.1 503|^$/);
  // And once the attack is over, the server is itself again.
  assert.equal(await post('/rest/default/async/V1/products/after', '{"product":{"price":1}}', 'PUT'), 202);
});

function sum(m: Map<number, number>): number {
  return [...m.values()].reduce((a, b) => a + b, 0);
}

function countBy(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[x || '(closed by the client)'] = (out[x || '(closed by the client)'] ?? 0) + 1;
  return out;
}
