/**
 * Processing at depth (issue 21): product upserts in 1,000-item bulks from several clients through
 * one `serve` process, run by one consumer process (`queue:consumers:start async.operations.all`) with the
 * catalog example's batch handlers, on a schema of its own:
 *
 *   npm run bench:depth -- [--ops 1000000] [--updates 5] [--clients 4] [--bulk 1000] [--concurrent]
 *                         [--minutes 30] [--consumer async.operations.all] [--keep] [--report 30]
 *
 * - `--ops` upserts of `ops / updates` skus, each sku updated `--updates` times in order: update u
 *   of every sku is accepted after update u - 1 of it (a client waits for that bulk's 202 first), so
 *   the consumer must keep each sku's order.
 * - The consumer starts once everything is accepted, so processing begins at the full depth and
 *   the server is idle meanwhile; `--concurrent` starts it with the first request instead.
 * - Printed: the accept span; the time to all final (from the first request); the processing rate
 *   (operations made final per second) while the open count falls through 90% of `--ops` and
 *   through 1% of it (900,000 and 10,000 for 1,000,000), each over a window of 1% of `--ops`, and
 *   their ratio (the baseline is the shallow rate of the same run); the CPU time per operation
 *   over the same two windows (see `cpuOfConsumer`) and its ratio; the consumer's RSS (first and
 *   last quarter of the processing, peak, and at each tenth of it); the load average at the start
 *   and the end.
 *   On a machine shared with other work the rates follow its load, which changes over a run (this
 *   2-core machine went from load 15 to 44 within one run); the CPU per operation does not.
 * - At the end every sku's stored price must be its last update's: order kept, nothing lost.
 * - `--minutes`: the run gives up that long after the first request, printing what it measured.
 * - `--consumer`: what the consumer runs, by default every entity queue as an operator starts it
 *   (the other queues stay empty and are polled throughout); `products` for that queue alone.
 * - `--report`: seconds between progress lines (open count, rate and CPU per operation since the last).
 * - `--keep`: the schemas stay (with every completed job and operation) for bench/depth-plans.ts.
 *
 * With EMBEDDED=1 it runs on a PostgreSQL of its own (var/bench-postgres), as bench:catalog does.
 * The full run takes a while and loads the machine: use a small `--ops` for a quick look.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createIntegrationToken } from '../src/auth/tokens.ts';
import { ident } from '../src/db/pool.ts';
import { startEmbeddedPostgres } from '../src/dev/embedded.ts';
import { pluginSchema } from '../src/plugins/migrations.ts';
import { createTestDatabase } from '../test/support/db.ts';
import { startCli, type CliProcess } from '../test/support/processes.ts';
import { portsOf } from './support/cpu.ts';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000000' },
    updates: { type: 'string', default: '5' },
    clients: { type: 'string', default: '4' },
    bulk: { type: 'string', default: '1000' },
    concurrent: { type: 'boolean', default: false },
    minutes: { type: 'string', default: '30' },
    consumer: { type: 'string', default: 'async.operations.all' },
    keep: { type: 'boolean', default: false },
    report: { type: 'string', default: '30' },
  },
});
const UPDATES = Math.max(1, Number(values.updates));
const BULK = Math.max(1, Number(values.bulk));
const SKUS = Math.max(1, Math.floor(Number(values.ops) / UPDATES));
const OPS = SKUS * UPDATES;
const CLIENTS = Math.max(1, Number(values.clients));
/** The run gives up (and prints what it measured) this long after the first request. */
const LIMIT_MS = Math.max(1, Number(values.minutes)) * 60_000;
/** Seconds between two progress lines while the consumer runs. */
const REPORT_MS = Math.max(1, Number(values.report)) * 1000;
/** The two depths compared, and the width of the window each rate is measured over. */
const DEEP = Math.round(OPS * 0.9);
const SHALLOW = Math.round(OPS * 0.01);
const WINDOW = Math.max(1, Math.round(OPS * 0.01));
const ROOT = join(import.meta.dirname, '..');
/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const CLOCK_TICKS = 100;

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const embedded = process.env.EMBEDDED === '1' ? await startEmbeddedPostgres({ dataDir: 'var/bench-postgres' }) : null;
if (embedded) process.env.DATABASE_URL = embedded.url;
const db = await createTestDatabase('bench_depth');
const s = ident(db.schema);
const dir = mkdtempSync(join(os.tmpdir(), 'bench-depth-'));
const configFile = join(dir, 'config.json');
writeFileSync(configFile, JSON.stringify({ schema: db.schema, bossSchema: db.bossSchema, logLevel: 'warn' }));
const env = {
  ...process.env,
  DATABASE_URL: db.url,
  MAGENTO_ASYNC_CONFIG: configFile,
  // Server and consumer share one crypt key, as a deployment's do.
  CRYPT_KEY: randomBytes(16).toString('hex'),
  MAGENTO_ASYNC_PLUGIN_EXAMPLES: 'catalog',
};
const processes: CliProcess[] = [];
const spawnCli = (args: string[]) => {
  const p = startCli(process.execPath, ['bin/magento-async.js', ...args], { cwd: ROOT, env });
  processes.push(p);
  return p;
};

/** Update `u` of sku `k`: its (integral) price says which update it was, so the last one can be checked. */
const priceOf = (k: number, u: number) => 1 + (k % 100) + 100 * u;
const item = (i: number) => {
  const k = i % SKUS;
  const u = Math.floor(i / SKUS);
  const sku = `DEPTH-${String(k).padStart(7, '0')}`;
  return { sku, product: { sku, name: `Depth ${sku}`, price: priceOf(k, u), status: 1, visibility: 4 } };
};

// The sampler runs until the end, also when the run fails: the schemas are dropped only after it.
let sampling = true;
let sampler: Promise<void> = Promise.resolve();
try {
  console.log(
    `bench:depth: ${OPS.toLocaleString('en')} upserts of ${SKUS.toLocaleString('en')} skus (${UPDATES} each), ` +
      `${BULK}-item bulks from ${CLIENTS} clients; consumer ${values.concurrent ? 'from the start' : 'after the accept'}`,
  );
  console.log(`load average at the start ${loadAverage()}`);
  const { token } = await createIntegrationToken(db.pool, db.schema, { name: 'bench-depth', resources: 'all' });
  const serve = spawnCli(['serve', '--port', '0']);
  const [, url] = await serve.waitFor(/serving \d+ routes of \S+ at (\S+)\/rest/, 120_000);

  let consumer: CliProcess | null = null;
  let consumerStartedAt = 0;
  const startConsumer = async () => {
    consumerStartedAt = performance.now();
    consumer = spawnCli(['queue:consumers:start', values.consumer]);
    await consumer.waitFor(/Database: /, 60_000);
  };

  // Samples of the open count, the consumer's RSS and CPU, every 500 ms until all are final.
  const samples: { t: number; open: number; final: number; rss: number | null; cpu: number | null }[] = [];
  const rssOf = (pid: number | undefined): number | null => {
    if (pid === undefined) return null;
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return kb ? Number(kb[1]) / 1024 : null;
    } catch {
      return null;
    }
  };
  /** CPU seconds (user + system) of a process so far, from /proc; null once it is gone. */
  const cpuOf = (pid: number): number | null => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime, the 14th and 15th fields (the 12th and 13th after the state).
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      return null;
    }
  };
  // The last CPU time read of each process: a backend that ended keeps what it had used.
  const cpuByPid = new Map<number, number>();
  /**
   * CPU seconds used so far by the consumer's process and its PostgreSQL backends (its pools' and
   * pg-boss's connections, and their parallel vacuum workers): the whole cost of the processing,
   * whatever else runs on the machine. Its backends are those whose client port is one of its
   * sockets: by application name alone, the consumers of other runs on the same server (another
   * bench, a test) were counted too. Over a unix socket (no ports) the application name decides.
   * A backend's last half second before it ends is not seen.
   */
  const cpuOfConsumer = async (): Promise<number | null> => {
    const pid = (consumer as CliProcess | null)?.child.pid;
    if (pid === undefined) return null;
    const ports = portsOf(pid);
    const { rows } = await db.pool.query<{ pid: number }>(
      `WITH ours AS (
         SELECT a.pid FROM pg_stat_activity a
         WHERE a.application_name LIKE 'magento-async:consumer%'
           AND (cardinality($1::int[]) = 0 OR a.client_port = ANY($1::int[])))
       SELECT pid FROM ours UNION SELECT a.pid FROM pg_stat_activity a WHERE a.leader_pid IN (SELECT pid FROM ours)`,
      [[...ports]],
    );
    for (const p of [pid, ...rows.map((r) => r.pid)]) {
      const cpu = cpuOf(p);
      if (cpu !== null) cpuByPid.set(p, cpu);
    }
    let total = 0;
    for (const cpu of cpuByPid.values()) total += cpu;
    return total;
  };
  const sample = async () => {
    const { rows } = await db.pool.query<{ open: string; final: string }>(
      `SELECT coalesce(sum(open + retrying), 0)::bigint AS open,
         coalesce(sum(complete + retriable + failed + rejected - retrying), 0)::bigint AS final
       FROM ${s}.bulk_counter`,
    );
    const row = { t: performance.now(), open: Number(rows[0]!.open), final: Number(rows[0]!.final), rss: null };
    samples.push({
      ...row,
      rss: consumer ? rssOf((consumer as CliProcess).child.pid) : null,
      cpu: await cpuOfConsumer(),
    });
    return row;
  };

  const began = performance.now();
  if (values.concurrent) await startConsumer();
  sampler = (async () => {
    while (sampling) {
      await sample();
      await new Promise((r) => setTimeout(r, 500));
    }
  })();

  // Accept: bulk b is sent once the bulk holding the previous update of its skus has its 202.
  const bulks = Math.ceil(OPS / BULK);
  const accepted: Promise<void>[] = [];
  const resolvers: (() => void)[] = [];
  for (let b = 0; b < bulks; b++) accepted.push(new Promise((r) => resolvers.push(r)));
  let next = 0;
  let retried503 = 0;
  const send = async (b: number) => {
    const first = b * BULK;
    const last = Math.min(OPS, first + BULK) - 1;
    // The earliest bulk holding an item of these skus' previous update.
    if (first >= SKUS) {
      const before = Math.floor((first - SKUS) / BULK);
      // Not this bulk itself: an earlier update in the same bulk is ahead of its next by index.
      const through = Math.min(b - 1, Math.floor((last - SKUS) / BULK));
      for (let p = before; p <= through; p++) await accepted[p];
    }
    const body = JSON.stringify(Array.from({ length: last - first + 1 }, (_, j) => item(first + j)));
    for (;;) {
      const response = await fetch(`${url}/rest/all/async/bulk/V1/products/bySku`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body,
      });
      const text = await response.text();
      if (response.status === 202) break;
      if (response.status === 503) {
        if (retried503++ === 0) console.log(`503 (retried after its Retry-After): ${text.slice(0, 300)}`);
        await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after') ?? 1) * 1000));
        continue;
      }
      throw new Error(`bulk ${b}: HTTP ${response.status} ${text.slice(0, 300)}`);
    }
    resolvers[b]!();
  };
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < bulks) await send(next++);
    }),
  );
  const acceptMs = performance.now() - began;
  console.log(
    `accepted ${OPS.toLocaleString('en')} in ${seconds(acceptMs)} (${((OPS / acceptMs) * 1000).toFixed(0)} ops/s` +
      `${retried503 ? `, ${retried503} requests retried after 503` : ''})`,
  );
  if (!values.concurrent) await startConsumer();

  let lastReport = performance.now();
  let reported = samples.at(-1);
  let timedOut = false;
  for (;;) {
    const now = await sample();
    if (now.open === 0 && now.final >= OPS) break;
    if (performance.now() - began > LIMIT_MS) {
      timedOut = true;
      break;
    }
    if (consumer && (consumer as CliProcess).child.exitCode !== null) {
      throw new Error(`the consumer exited: ${(consumer as CliProcess).stderr().slice(-2000)}`);
    }
    if (performance.now() - lastReport > REPORT_MS) {
      lastReport = performance.now();
      // Since the last line: operations made final per second, and CPU per operation.
      const last = samples.at(-1)!;
      const made = reported ? last.final - reported.final : 0;
      const since =
        reported && made > 0
          ? `, ${((made / (last.t - reported.t)) * 1000).toFixed(0)} ops/s` +
            (reported.cpu !== null && last.cpu !== null
              ? `, CPU ${(((last.cpu - reported.cpu) / made) * 1000).toFixed(2)} ms/op`
              : '')
          : '';
      reported = last;
      console.log(
        `  ${seconds(lastReport - began)}: ${now.open.toLocaleString('en')} open${since}, RSS ${rssOf((consumer as CliProcess | null)?.child.pid)?.toFixed(0) ?? '?'} MiB`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const finalMs = performance.now() - began;
  sampling = false;
  await sampler;

  /**
   * Operations made final per second while the open count fell through `depth`: from the last
   * sample at or above `depth + WINDOW` to the first at or below `depth` (wider when the samples are).
   */
  const rateAt = (depth: number): { rate: number; at: number; cpuMs: number | null } | null => {
    const to = samples.findIndex((x) => x.t >= consumerStartedAt && x.open <= depth);
    if (to < 0) return null;
    let from = to - 1;
    while (from >= 0 && samples[from]!.open < depth + WINDOW) from--;
    if (from < 0 || samples[from]!.t < consumerStartedAt) return null;
    const a = samples[from]!;
    const b = samples[to]!;
    const cpuMs = a.cpu !== null && b.cpu !== null ? ((b.cpu - a.cpu) / (b.final - a.final)) * 1000 : null;
    return { rate: ((b.final - a.final) / (b.t - a.t)) * 1000, at: (b.t - began) / 1000, cpuMs };
  };
  const deep = rateAt(DEEP);
  const shallow = rateAt(SHALLOW);
  // Processing: from the first operation made final (the consumer's start-up excluded).
  const firstFinal = samples.find((x) => x.final > 0) ?? samples.at(-1)!;
  const processingMs = began + finalMs - firstFinal.t;
  const done = samples.at(-1)!.final;
  console.log(
    `${timedOut ? `NOT all final after ${seconds(finalMs)}: ${done.toLocaleString('en')} final` : `all final ${seconds(finalMs)} after the first request`} ` +
      `(${((done / finalMs) * 1000).toFixed(0)} ops/s end to end); processing ${seconds(processingMs)} from the first ` +
      `final operation, ${((done / processingMs) * 1000).toFixed(0)} ops/s (consumer start-up ${seconds(firstFinal.t - consumerStartedAt)})`,
  );
  const show = (label: string, r: { rate: number; at: number } | null) =>
    r
      ? `${label}: ${r.rate.toFixed(0)} ops/s (at ${r.at.toFixed(0)} s)`
      : `${label}: not measured (the open count never fell through it after the consumer started)`;
  console.log(show(`rate with ${DEEP.toLocaleString('en')} open`, deep));
  console.log(show(`rate with ${SHALLOW.toLocaleString('en')} open (baseline)`, shallow));
  if (deep && shallow) console.log(`deep / shallow: ${(deep.rate / shallow.rate).toFixed(2)}× (issue 21 asks ≥ 0.8×)`);
  if (deep?.cpuMs != null && shallow?.cpuMs != null) {
    console.log(
      `CPU per operation (consumer and its PostgreSQL backends): ${deep.cpuMs.toFixed(2)} ms with ` +
        `${DEEP.toLocaleString('en')} open, ${shallow.cpuMs.toFixed(2)} ms with ${SHALLOW.toLocaleString('en')} open ` +
        `(baseline): deep / shallow by CPU ${(shallow.cpuMs / deep.cpuMs).toFixed(2)}×`,
    );
  }
  // Which work the two windows hold: with --updates > 1 the first SKUS operations made final are
  // (nearly all) the skus' creates, the deep window among them, and the last SKUS their last
  // updates, the shallow window among them.
  const cpuBetween = (from: number, to: number): number | null => {
    const a = samples.find((x) => x.t >= consumerStartedAt && x.final >= from && x.cpu !== null);
    const b = samples.find((x) => x.final >= to && x.cpu !== null);
    return a && b && b.final > a.final ? ((b.cpu! - a.cpu!) / (b.final - a.final)) * 1000 : null;
  };
  const creates = cpuBetween(1, SKUS);
  const lastRound = cpuBetween(OPS - SKUS, OPS);
  if (UPDATES > 1 && creates !== null && lastRound !== null) {
    console.log(
      `CPU per operation over the first ${SKUS.toLocaleString('en')} made final (the creates) ${creates.toFixed(2)} ms, ` +
        `over the last ${SKUS.toLocaleString('en')} (the last updates) ${lastRound.toFixed(2)} ms`,
    );
  }

  const rss = samples.filter((x) => x.rss !== null && x.t >= firstFinal.t).map((x) => x.rss!);
  if (rss.length >= 4) {
    const quarter = Math.floor(rss.length / 4);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(rss.slice(0, quarter));
    const last = mean(rss.slice(-quarter));
    console.log(
      `consumer RSS MiB over the processing (${rss.length} samples): first quarter mean ${first.toFixed(0)}, ` +
        `last quarter mean ${last.toFixed(0)} (${(last / first).toFixed(2)}×), peak ${Math.max(...rss).toFixed(0)}`,
    );
    // The shape under the two means: the V8 heap grows to its working size over the first tens of
    // seconds of the processing (heapTotal about 35 to 190 MiB), which a short run's first quarter
    // holds; growth after that shows in the later tenths.
    const tenths = Array.from(
      { length: 11 },
      (_, i) => rss[Math.min(rss.length - 1, Math.round((i * (rss.length - 1)) / 10))]!,
    );
    console.log(`consumer RSS MiB at each tenth of the processing: ${tenths.map((r) => r.toFixed(0)).join(' ')}`);
  }

  if (timedOut) {
    console.log(`gave up after --minutes ${values.minutes}: the order check needs every operation final`);
    process.exitCode = 1;
  } else {
    // Every sku ends at its last update's price: each sku's order was kept and nothing was lost.
    const catalog = ident(pluginSchema(db.schema, 'Magento_Catalog'));
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT k, (SELECT (v.value #>> '{}')::numeric FROM ${catalog}.catalog_product_value v
                    WHERE v.sku = 'DEPTH-' || lpad(k::text, 7, '0') AND v.store_id = 0 AND v.attribute = 'price') AS price
         FROM generate_series(0, $1::int - 1) k) p
       WHERE p.price IS DISTINCT FROM (1 + p.k % 100 + 100 * ($2::int - 1))`,
      [SKUS, UPDATES],
    );
    const wrong = rows[0]!.n;
    console.log(
      wrong === 0
        ? `every sku holds its last update (${SKUS.toLocaleString('en')} checked)`
        : `ORDER OR LOSS: ${wrong} skus do not hold their last update`,
    );
    if (wrong !== 0) process.exitCode = 1;
  }
  console.log(`load average at the end ${loadAverage()}`);
} finally {
  sampling = false;
  await sampler.catch(() => {});
  for (const p of processes.reverse()) await p.stop('SIGTERM');
  if (values.keep) {
    console.log(`kept: npx node bench/depth-plans.ts ${db.schema} ${db.bossSchema}`);
    await db.pool.end();
  } else await db.drop();
  rmSync(dir, { recursive: true, force: true });
  await embedded?.stop();
}
