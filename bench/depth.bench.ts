/**
 * Processing at depth: a whole catalog of product upserts through one real server and one real
 * consumer (separate processes, the catalog example's batch handlers), on the machine's PostgreSQL.
 *
 *   npx node bench/depth.bench.ts [--ops 1000000] [--skus 200000] [--clients 4] [--bulk 1000] [--together] [--keep]
 *
 * `--ops` upserts of `--skus` skus (`ops / skus` updates each), POSTed as `--bulk`-item bulks to
 * /rest/all/async/bulk/V1/products by `--clients` concurrent clients, every sku's updates in order
 * (update u of sku s is item u·skus + s, so a sku's next update is in a bulk accepted later). By
 * default the consumer starts once everything is accepted, so the backlog is really `--ops` deep;
 * `--together` starts it with the first request instead (as a store would run it).
 *
 * Prints the accept span, the time until every operation is final, and the processing rate while
 * the open operations fall through 90 % and through 1 % of `--ops` (900,000 and 10,000 for the full
 * run) with their ratio: the same speed at any depth means a ratio near 1. The completed jobs and
 * operations of the run stay in their tables, so the late rate is measured over the whole history.
 * Also the consumer's RSS over the processing (first and last quarter), the load average, and
 * checks: every operation complete, and every sku holding its last update (per-sku order kept).
 * `--keep` leaves the schemas in place (for EXPLAIN at depth) and prints their names.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createIntegrationToken } from '../src/auth/tokens.ts';
import { ident } from '../src/db/pool.ts';
import { pluginSchema } from '../src/plugins/migrations.ts';
import { startCli, type CliProcess } from '../test/support/processes.ts';
import { createTestDatabase } from '../test/support/db.ts';

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000000' },
    skus: { type: 'string' },
    clients: { type: 'string', default: '4' },
    bulk: { type: 'string', default: '1000' },
    together: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const OPS = Number(args.ops);
const SKUS = Number(args.skus ?? Math.max(1, Math.round(OPS / 5)));
const CLIENTS = Number(args.clients);
const BULK = Number(args.bulk);
const BULKS = Math.ceil(OPS / BULK);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE_MS = 500;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const mib = (kb: number) => (kb / 1024).toFixed(0);
const loadAtStart = load();

const db = await createTestDatabase('bench_depth');
const s = ident(db.schema);
const bossSchema = `${db.schema}_boss`;
const dir = mkdtempSync(join(tmpdir(), 'bench-depth-'));
const configFile = join(dir, 'magento-async.config.json');
writeFileSync(
  configFile,
  JSON.stringify({ schema: db.schema, bossSchema, plugins: { examples: ['catalog'] }, logLevel: 'warn' }),
);
const env = { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile };
const cli = (argv: string[]): CliProcess =>
  startCli(process.execPath, [join(ROOT, 'bin/magento-async.js'), ...argv], { cwd: ROOT, env });

/** Update `u` of sku `s`: its name and price say which update it was. */
const item = (i: number) => {
  const sku = `DEPTH-${String(i % SKUS).padStart(7, '0')}`;
  const u = Math.floor(i / SKUS);
  return {
    product: {
      sku,
      name: `Depth ${sku} v${u}`,
      attribute_set_id: 4,
      price: 10 + u,
      status: 1,
      visibility: 4,
      type_id: 'simple',
      weight: 1,
    },
  };
};
const bodyOf = (b: number) =>
  JSON.stringify(Array.from({ length: Math.min(BULK, OPS - b * BULK) }, (_, j) => item(b * BULK + j)));

interface Sample {
  t: number;
  accepted: number;
  open: number;
  rssKb: number | null;
}
const samples: Sample[] = [];
const rssOf = (pid: number | undefined): number | null => {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
};

const started: CliProcess[] = [];
let sampler: NodeJS.Timeout | undefined;
try {
  const server = cli(['serve', '--port', '0']);
  started.push(server);
  const [, url] = await server.waitFor(/serving \d+ routes of \S+ at (\S+)\/rest/, 120_000);
  const { token } = await createIntegrationToken(db.pool, db.schema, { name: 'bench-depth', resources: 'all' });
  let consumer: CliProcess | undefined;
  let consumerAt = 0;
  const startConsumer = async () => {
    consumer = cli(['queue:consumers:start', 'async.operations.all']);
    started.push(consumer);
    consumerAt = performance.now();
    // Its pid is the node process itself (no npx between), so /proc reads the worker's RSS.
    await consumer.waitFor(/Database: /, 120_000);
  };

  const t0 = performance.now();
  let sampling: Promise<void> = Promise.resolve();
  sampler = setInterval(() => {
    sampling = sampling.then(async () => {
      // The bulks' counters: a handful of rows per bulk, not a scan of the operations.
      const { rows } = await db.pool.query<{ accepted: string; open: string }>(
        `SELECT coalesce(sum(complete + retriable + failed + open + rejected), 0) AS accepted,
           coalesce(sum(open + retrying), 0) AS open FROM ${s}.bulk_counter`,
      );
      samples.push({
        t: performance.now() - t0,
        accepted: Number(rows[0]!.accepted),
        open: Number(rows[0]!.open),
        rssKb: rssOf(consumer?.child.pid),
      });
    });
  }, SAMPLE_MS);

  console.log(
    `depth: ${OPS} upserts of ${SKUS} skus in ${BULKS} bulks of ${BULK} from ${CLIENTS} clients; ` +
      `consumer ${args.together ? 'from the start' : 'after the accept'}; load average ${loadAtStart}`,
  );
  if (args.together) await startConsumer();
  let next = 0;
  const acceptStart = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let b = next++; b < BULKS; b = next++) {
        const response = await fetch(`${url}/rest/all/async/bulk/V1/products`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: bodyOf(b),
        });
        const text = await response.text();
        if (response.status !== 202) throw new Error(`bulk ${b}: ${response.status} ${text.slice(0, 300)}`);
      }
    }),
  );
  const acceptMs = performance.now() - acceptStart;
  console.log(`accepted ${OPS} in ${seconds(acceptMs)} s (${((OPS / acceptMs) * 1000).toFixed(0)} ops/s)`);
  if (!consumer) await startConsumer();

  let lastReport = performance.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const last = samples.at(-1);
    if (last && last.accepted === OPS && last.open === 0) break;
    if (performance.now() - lastReport > 30_000 && last) {
      lastReport = performance.now();
      console.log(`  ${seconds(last.t)} s: ${last.open} open, consumer RSS ${mib(last.rssKb ?? 0)} MiB`);
    }
    if (consumer!.child.exitCode !== null) throw new Error(`the consumer exited:\n${consumer!.stderr()}`);
  }
  const finalMs = performance.now() - t0;
  clearInterval(sampler);
  await sampling;

  console.log(
    `all ${OPS} final ${seconds(finalMs)} s after the first request ` +
      `(${seconds(performance.now() - consumerAt)} s of processing)`,
  );
  // The processing rate while `open` falls through `x` (± half of it, at most 2.5 % of the run),
  // once the backlog only shrinks (the accept has ended and the consumer runs).
  const falling = samples.filter((p) => p.t >= Math.max(acceptMs, consumerAt - t0));
  const crossing = (open: number): number | null => {
    for (let i = 1; i < falling.length; i++) {
      const a = falling[i - 1]!;
      const b = falling[i]!;
      if (a.open >= open && b.open <= open) {
        return a.open === b.open ? a.t : a.t + ((b.t - a.t) * (a.open - open)) / (a.open - b.open);
      }
    }
    return null;
  };
  const rateAt = (x: number) => {
    const half = Math.min(x / 2, OPS * 0.025);
    const from = falling[0] && falling[0].open < x + half ? falling[0].t : crossing(x + half);
    const fromOpen = falling[0] && falling[0].open < x + half ? falling[0].open : x + half;
    const to = crossing(x - half);
    if (from === null || to === null || to <= from) return null;
    return ((fromOpen - (x - half)) / (to - from)) * 1000;
  };
  const high = Math.round(OPS * 0.9);
  const low = Math.round(OPS * 0.01);
  const rHigh = rateAt(high);
  const rLow = rateAt(low);
  const fmt = (r: number | null) => (r === null ? 'n/a (never that deep after the accept)' : `${r.toFixed(0)} ops/s`);
  console.log(`processing rate with ${high} open: ${fmt(rHigh)}`);
  console.log(`processing rate with ${low} open: ${fmt(rLow)}`);
  if (rHigh !== null && rLow !== null) {
    console.log(`ratio deep/shallow: ${(rHigh / rLow).toFixed(2)}x (goal >= 0.8x)`);
  }
  // From the first operation the consumer finished (its start-up, loading modules, is not the run).
  const peak = samples.findIndex((p) => p.t >= consumerAt - t0 && p.accepted > p.open);
  const rss = samples
    .slice(Math.max(0, peak))
    .filter((p) => p.rssKb !== null)
    .map((p) => p.rssKb!);
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const first = mean(rss.slice(0, quarter));
  const lastQ = mean(rss.slice(-quarter));
  console.log(
    `consumer RSS MiB: first quarter mean ${mib(first)}, last quarter mean ${mib(lastQ)} ` +
      `(${((lastQ / first - 1) * 100).toFixed(0)} %), max ${mib(Math.max(...rss))}`,
  );

  const { rows: statuses } = await db.pool.query(
    `SELECT status, count(*)::int AS n FROM ${s}.operation GROUP BY status ORDER BY status`,
  );
  const catalog = ident(pluginSchema(db.schema, 'Magento_Catalog'));
  const last = Math.ceil(OPS / SKUS) - 1;
  const { rows: order } = await db.pool.query<{ products: number; stale: number }>(
    `SELECT (SELECT count(*)::int FROM ${catalog}.catalog_product) AS products,
       (SELECT count(*)::int FROM ${catalog}.catalog_product_value
        WHERE attribute = 'name' AND store_id = 0 AND value #>> '{}' NOT LIKE $1) AS stale`,
    [`% v${last}`],
  );
  console.log(
    `statuses ${JSON.stringify(statuses)}; ${order[0]!.products} products, ` +
      `${order[0]!.stale} not at their last update (0 when per-sku order held)`,
  );
  console.log(`load average at the start ${loadAtStart}, at the end ${load()}`);
  await Promise.all(started.map((p) => p.stop('SIGTERM')));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  clearInterval(sampler);
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
  if (args.keep) {
    console.log(`kept schemas ${db.schema} and ${bossSchema}`);
    await db.pool.end();
  } else {
    await db.pool.query(`DROP SCHEMA IF EXISTS ${ident(bossSchema)} CASCADE`);
    await db.drop();
  }
}
