/**
 * Accept-path throughput against real Postgres, each figure beside a baseline measured in the same run:
 *
 *   1. Bulk accept: 1,000-item product bulks (≈ 300 B per item) POSTed by `bulkClients` concurrent
 *      clients → operations accepted per second, beside the raw-SQL floor: the same rows (bulk row,
 *      1,000 operation rows, 1,000 pg-boss jobs through the same `boss.insert`) written by a bare
 *      loop with the same concurrency, no HTTP, parsing, validation or hashing. Goal ≥ 0.7× the floor.
 *   2. Single-item async: `singleClients` concurrent clients PUT /async/V1/products/<sku> → requests
 *      per second with group commit, beside the same server with `groupCommit: false` (one
 *      commit per request). Goal ≥ 4×.
 *   3. Latency of 100-item bulks at half load: first the saturation rate (`latencyClients` closed
 *      loops, beside the floor's with the same concurrency: the 100-item floor ratio, goal ≥ 0.7×),
 *      then half of that rate offered open loop (Poisson arrivals, latency from each request's
 *      scheduled start) → p50 / p99, beside the floor's p50 / p99 at the same offered rate. Goal
 *      p99 < 50 ms. With autocannon installed, it offers the same rate as an outside load generator.
 *
 * Where a 100-item bulk's time went before one statement (measured on the shared 2-core machine):
 *   JS, quiet micro-benchmark of prepareRequest, ms per bulk: PHP decode 0.22, input building
 *   (filterInputData) 0.15, native JSON.parse for validation 0.15, validation 0.02, serialized_data
 *   (PHP-exact json_encode twice) 0.44, data_hash HMAC 0.23, secrets 0.06: 1.4 ms in all.
 *   SQL, one client, p50 ms: BEGIN 0.13, bulk 0.46, operations 1.73, pg-boss insert 3.71, COMMIT
 *   1.67 (its deferred foreign keys of the jobs and the fsync): 7.9 of a 9.3 ms request.
 *   Spans in a real server at half load (load average 4–9), p50 / p99 ms: body read 0.1 / 0.5,
 *   prepare 4.9 / 61, waiting for a group 0.1 / 118, bulk 3.0 / 44, operations 7.1 / 153,
 *   pg-boss insert 20 / 116, COMMIT 18 / 75: the accept transaction's round trips, each a wake-up
 *   of both processes on a busy machine, were the time.
 *   node --cpu-prof of a real `serve` (4 clients): PHP-exact encoding ≈ 30 % of server CPU, socket
 *   writes ≈ 20 % (≈ 50 kB of parameters per bulk to PostgreSQL, 10 kB of answer), HMAC and job
 *   ids ≈ 15 %, decoding ≈ 15 %, filterInputData ≈ 8 %, GC ≈ 10 %.
 *   Now: one prepared statement per group (src/db/sql/accept.ts insertAccepted) and one-shot
 *   hashes for job ids; part 3 runs the accept as it was beside it.
 *
 *   npx node bench/accept.bench.ts [seconds=8] [bulkClients=4] [singleClients=64] [all|bulk|single|latency] [latencyClients=8]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../test/support/server.ts';
import { ident } from '../src/db/pool.ts';
import { runFloor } from './support/floor.ts';
import { cpuSample, cpuSince, type CpuUsed } from './support/cpu.ts';
import type { LoadResult, LoadSpec } from './support/load.ts';
import { bulkBody } from './support/bodies.ts';

const SECONDS = Number(process.argv[2] ?? 8);
const BULK_CLIENTS = Number(process.argv[3] ?? 4);
const SINGLE_CLIENTS = Number(process.argv[4] ?? 64);
/** `bulk`, `single` or `latency` runs one part only (while tuning). */
const ONLY = process.argv[5] ?? 'all';
const LATENCY_CLIENTS = Number(process.argv[6] ?? 8);
const LATENCY_ITEMS = 100;
const loadAtStart = loadavg();
const ITEMS = 1000;
const WARMUP_MS = 1500;
const LOAD_SCRIPT = fileURLToPath(new URL('./support/load.ts', import.meta.url));

function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOAD_SCRIPT, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
      if (result.unexpected > 0) {
        return reject(new Error(`${result.unexpected} responses were not 202; first: ${result.firstUnexpected}`));
      }
      resolve(result);
    });
  });
}

/** Keeps the planner honest after big loads into fresh tables (as an operator's autovacuum would). */

/**
 * The headline row (mean of the two runs of each side, ratio, goal) and the row of single runs
 * (phases run A B B A, so each side has two).
 */
function comparison(
  label: string,
  unit: string,
  ours: readonly { rate: number }[],
  baseline: readonly { rate: number }[],
  goal: number,
): string[][] {
  const mean = (runs: readonly { rate: number }[]) => runs.reduce((sum, r) => sum + r.rate, 0) / runs.length;
  const ratio = mean(ours) / mean(baseline);
  return [
    [
      label,
      unit,
      fmt(mean(ours)),
      fmt(mean(baseline)),
      `${ratio.toFixed(2)}×`,
      `≥ ${goal.toFixed(2)}×`,
      ratio >= goal ? 'ok' : 'MISSED',
    ],
    [
      '  runs (ours | baseline)',
      unit,
      ours.map((r) => fmt(r.rate)).join(' '),
      baseline.map((r) => fmt(r.rate)).join(' '),
      '',
      '',
      '',
    ],
  ];
}

async function analyze(server: TestServer): Promise<void> {
  await server.db.pool.query(`ANALYZE ${ident(server.db.schema)}.bulk, ${ident(server.db.schema)}.operation`);
  await server.db.pool.query(`ANALYZE ${ident(server.db.bossSchema)}.job`).catch(() => {});
}

/** One phase's throughput and where its CPU went, in ms per 1,000 operations (or requests). */
interface Phase {
  rate: number;
  p50: number;
  p99: number;
  cpu: { bench: number; postgres: number; client: number };
  /** Busy CPU seconds of other processes during the phase (others' load skews the figures). */
  foreign: number;
}

const foreignLoad: number[] = [];
/** CPU-seconds per second used outside this benchmark (server, load generator, Postgres). */
function foreign(used: CpuUsed, client: number, seconds: number): number {
  const f = Math.max(0, (used.machine - used.self - used.postgres - client) / seconds);
  foreignLoad.push(f);
  return f;
}

const perThousand = (seconds: number, units: number) => (seconds * 1000 * 1000) / units;

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows: string[][] = [];

// ---- 1. bulk accept vs the raw-SQL floor --------------------------------------------------------
if (ONLY === 'all' || ONLY === 'bulk') {
  const server = await startTestServer('bench_accept_bulk');
  try {
    const floor = async (): Promise<Phase> => {
      const cpu = cpuSample();
      const r = await runFloor({
        pool: server.db.pool,
        boss: server.boss,
        schema: server.db.schema,
        items: ITEMS,
        clients: BULK_CLIENTS,
        warmupMs: WARMUP_MS,
        durationMs: SECONDS * 1000,
      });
      const used = cpuSince(cpu);
      const ops = r.total * ITEMS;
      return {
        rate: (r.bulks * ITEMS) / r.seconds,
        p50: NaN,
        p99: NaN,
        cpu: { bench: perThousand(used.self, ops), postgres: perThousand(used.postgres, ops), client: 0 },
        foreign: foreign(used, 0, r.seconds + WARMUP_MS / 1000),
      };
    };
    const http = async (): Promise<Phase> => {
      const cpu = cpuSample();
      const r = await load({
        url: server.url,
        token: server.token,
        method: 'POST',
        kind: 'bulk',
        path: '/rest/default/async/bulk/V1/products',
        bulkItems: ITEMS,
        clients: BULK_CLIENTS,
        warmupMs: WARMUP_MS,
        durationMs: SECONDS * 1000,
      });
      const used = cpuSince(cpu);
      const ops = r.total * ITEMS;
      return {
        rate: (r.requests * ITEMS) / r.seconds,
        p50: r.p50Ms,
        p99: r.p99Ms,
        cpu: {
          bench: perThousand(used.self, ops),
          postgres: perThousand(used.postgres, ops),
          client: perThousand(r.cpuSeconds, ops),
        },
        foreign: foreign(used, r.cpuSeconds, r.seconds + WARMUP_MS / 1000),
      };
    };
    const f1 = await floor();
    await analyze(server);
    const h1 = await http();
    await analyze(server);
    const h2 = await http();
    await analyze(server);
    const f2 = await floor();
    rows.push(
      ...comparison(`bulk accept, ${ITEMS}-item bulks, ${BULK_CLIENTS} clients`, 'ops/s', [h1, h2], [f1, f2], 0.7),
      ['  CPU per 1,000 ops: server (bench process)', 'ms', fmt(h2.cpu.bench, 1), fmt(f2.cpu.bench, 1), '', '', ''],
      ['  CPU per 1,000 ops: PostgreSQL', 'ms', fmt(h2.cpu.postgres, 1), fmt(f2.cpu.postgres, 1), '', '', ''],
      ['  CPU per 1,000 ops: load generator', 'ms', fmt(h2.cpu.client, 1), '', '', '', ''],
      ['  HTTP latency per bulk p50 / p99', 'ms', `${fmt(h2.p50, 1)} / ${fmt(h2.p99, 1)}`, '', '', '', ''],
    );
  } finally {
    await server.stop();
  }
}

// ---- 2. single-item async: group commit vs one commit per request -------------------------------
if (ONLY === 'all' || ONLY === 'single') {
  const grouped = await startTestServer('bench_accept_group');
  const single = await startTestServer('bench_accept_nogroup', { groupCommit: false });
  try {
    const run = async (server: TestServer): Promise<Phase> => {
      const cpu = cpuSample();
      const r = await load({
        url: server.url,
        token: server.token,
        method: 'PUT',
        kind: 'single',
        path: '/rest/default/async/V1/products',
        clients: SINGLE_CLIENTS,
        warmupMs: WARMUP_MS,
        durationMs: SECONDS * 1000,
      });
      const used = cpuSince(cpu);
      return {
        rate: r.requests / r.seconds,
        p50: r.p50Ms,
        p99: r.p99Ms,
        cpu: {
          bench: perThousand(used.self, r.total),
          postgres: perThousand(used.postgres, r.total),
          client: perThousand(r.cpuSeconds, r.total),
        },
        foreign: foreign(used, r.cpuSeconds, r.seconds + WARMUP_MS / 1000),
      };
    };
    const b1 = await run(single);
    const g1 = await run(grouped);
    const g2 = await run(grouped);
    const b2 = await run(single);
    rows.push(
      ...comparison(`single-item PUT, ${SINGLE_CLIENTS} clients, group commit`, 'req/s', [g1, g2], [b1, b2], 4),
      [
        '  latency p50 / p99 (group | one per request)',
        'ms',
        `${fmt(g2.p50, 1)} / ${fmt(g2.p99, 1)}`,
        `${fmt(b2.p50, 1)} / ${fmt(b2.p99, 1)}`,
        '',
        '',
        '',
      ],
      ['  CPU per 1,000 requests: server', 'ms', fmt(g2.cpu.bench, 1), fmt(b2.cpu.bench, 1), '', '', ''],
      ['  CPU per 1,000 requests: PostgreSQL', 'ms', fmt(g2.cpu.postgres, 1), fmt(b2.cpu.postgres, 1), '', '', ''],
      ['  CPU per 1,000 requests: load generator', 'ms', fmt(g2.cpu.client, 1), fmt(b2.cpu.client, 1), '', '', ''],
    );
  } finally {
    await grouped.stop();
    await single.stop();
  }
}

// ---- 3. 100-item bulks: saturation, then latency at half of it ----------------------------------
if (ONLY === 'all' || ONLY === 'latency') {
  const server = await startTestServer('bench_accept_latency');
  try {
    const spec = (extra: Partial<LoadSpec>): LoadSpec => ({
      url: server.url,
      token: server.token,
      method: 'POST',
      kind: 'bulk',
      path: '/rest/default/async/bulk/V1/products',
      bulkItems: LATENCY_ITEMS,
      clients: LATENCY_CLIENTS,
      warmupMs: WARMUP_MS,
      durationMs: SECONDS * 1000,
      ...extra,
    });
    const floor = (ratePerSecond?: number) =>
      runFloor({
        pool: server.db.pool,
        boss: server.boss,
        schema: server.db.schema,
        items: LATENCY_ITEMS,
        clients: LATENCY_CLIENTS,
        ratePerSecond,
        warmupMs: WARMUP_MS,
        durationMs: SECONDS * 1000,
      });
    const perSecond = (r: { requests?: number; bulks?: number; seconds: number }) =>
      ((r.requests ?? r.bulks ?? 0) * LATENCY_ITEMS) / r.seconds;
    // Other processes' CPU during each phase, as parts 1 and 2 record it.
    const watched = async <T extends { seconds: number; cpuSeconds?: number }>(run: () => Promise<T>) => {
      const cpu = cpuSample();
      const r = await run();
      foreign(cpuSince(cpu), r.cpuSeconds ?? 0, r.seconds + WARMUP_MS / 1000);
      return r;
    };
    const s1 = await watched(() => load(spec({})));
    await analyze(server);
    const f1 = await watched(() => floor());
    await analyze(server);
    const f2 = await watched(() => floor());
    await analyze(server);
    const s2 = await watched(() => load(spec({})));
    await analyze(server);
    // Before and after one statement, same run: the same server wiring writing its jobs with
    // boss.insert inside BEGIN … COMMIT (six round trips), CPU per 1,000 operations beside ours.
    const separate = await startTestServer('bench_accept_separate', {}, { separateJobInsert: true });
    const cpuPerThousand = async (target: TestServer) => {
      const cpu = cpuSample();
      const r = await load({ ...spec({}), url: target.url, token: target.token });
      const used = cpuSince(cpu);
      const ops = r.total * LATENCY_ITEMS;
      return { rate: perSecond(r), self: perThousand(used.self, ops), postgres: perThousand(used.postgres, ops) };
    };
    let before: { rate: number; self: number; postgres: number }[];
    let after: { rate: number; self: number; postgres: number }[];
    try {
      const b1 = await cpuPerThousand(separate);
      const a1 = await cpuPerThousand(server);
      const a2 = await cpuPerThousand(server);
      const b2 = await cpuPerThousand(separate);
      before = [b1, b2];
      after = [a1, a2];
    } finally {
      await separate.stop();
    }
    await analyze(server);
    const saturation = (s1.requests + s2.requests) / (s1.seconds + s2.seconds);
    const half = saturation / 2;
    const h1 = await watched(() => load(spec({ ratePerSecond: half, clients: 64 })));
    const fh = await watched(() => floor(half));
    const h2 = await watched(() => load(spec({ ratePerSecond: half, clients: 64 })));
    const ac = await autocannon(server, half);
    rows.push(
      ...comparison(
        `bulk accept, ${LATENCY_ITEMS}-item bulks, ${LATENCY_CLIENTS} clients (saturation)`,
        'ops/s',
        [s1, s2].map((r) => ({ rate: perSecond(r) })),
        [f1, f2].map((r) => ({ rate: perSecond(r) })),
        0.7,
      ),
      [
        `  half load: ${fmt(half, 1)} bulks/s offered, Poisson, p50 / p99 (ours: 2 runs | floor)`,
        'ms',
        [h1, h2].map((r) => `${fmt(r.p50Ms, 1)} / ${fmt(r.p99Ms, 1)}`).join(', '),
        `${fmt(fh.p50Ms, 1)} / ${fmt(fh.p99Ms, 1)}`,
        `${(Math.max(h1.p99Ms, h2.p99Ms) / fh.p99Ms).toFixed(2)}×`,
        'p99 < 50 ms',
        Math.max(h1.p99Ms, h2.p99Ms) < 50 ? 'ok' : 'MISSED',
      ],
      ...comparison(`  same, one statement vs boss.insert in BEGIN … COMMIT (before)`, 'ops/s', after, before, 1),
      [
        '  CPU per 1,000 ops, server + PostgreSQL (one statement | before)',
        'ms',
        after.map((r) => `${fmt(r.self, 1)} + ${fmt(r.postgres, 1)}`).join(', '),
        before.map((r) => `${fmt(r.self, 1)} + ${fmt(r.postgres, 1)}`).join(', '),
        `${(after.reduce((n, r) => n + r.self + r.postgres, 0) / before.reduce((n, r) => n + r.self + r.postgres, 0)).toFixed(2)}×`,
        '',
        '',
      ],
      [
        '  half load, autocannon (outside generator, same rate) p50 / p99',
        'ms',
        ac ? `${fmt(ac.p50, 1)} / ${fmt(ac.p99, 1)}` : 'not installed',
        '',
        '',
        '',
        ac ? (ac.p99 < 50 ? 'ok' : 'MISSED') : '',
      ],
    );
  } finally {
    await server.stop();
  }
}

/**
 * The same half load from autocannon, when installed (a devDependency): an outside load generator,
 * rate-limited to the same bulks per second over 32 connections. Null when it is not there.
 */
function autocannon(server: TestServer, ratePerSecond: number): Promise<{ p50: number; p99: number } | null> {
  const bin = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));
  if (!existsSync(bin)) return Promise.resolve(null);
  const args = [
    bin,
    '--json',
    '-c',
    '32',
    '-d',
    String(SECONDS),
    '--overallRate',
    String(Math.max(1, Math.round(ratePerSecond))),
    '-m',
    'POST',
    '-H',
    `Authorization=Bearer ${server.token}`,
    '-H',
    'Content-Type=application/json',
    '-b',
    bulkBody(LATENCY_ITEMS, 0),
    `${server.url}/rest/default/async/bulk/V1/products`,
  ];
  // Asynchronous: the server under test runs in this process's event loop.
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const result = JSON.parse(out) as { latency: { p50: number; p99: number }; non2xx: number; errors: number };
      if (result.non2xx > 0 || result.errors > 0) {
        return reject(new Error(`autocannon: ${result.non2xx} responses not 2xx, ${result.errors} errors`));
      }
      resolve({ p50: result.latency.p50, p99: result.latency.p99 });
    });
  });
}

const header = ['measure', 'unit', 'magento-async', 'baseline', 'ratio', 'goal', ''];
const table = [header, ...rows];
const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
console.log(
  `accept benchmark: ${SECONDS} s per phase after ${WARMUP_MS} ms warm-up; phases A B B A; baseline = raw-SQL floor (bulk) or groupCommit false (single)`,
);
for (const [i, r] of table.entries()) {
  console.log(
    r
      .map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
const worst = Math.max(...foreignLoad);
const loadAtEnd = loadavg();
console.log(
  `load average (1/5/15 min) at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadAtEnd
    .map((l) => l.toFixed(2))
    .join(' ')} (2 cores)`,
);
console.log(
  `other load on the machine during the phases: up to ${worst.toFixed(2)} CPU${
    worst > 0.2 ? ' — something else was running: figures are skewed, run again on a quiet machine' : ' (quiet)'
  }`,
);
