/**
 * End-to-end consumer throughput on no-op operations, beside a raw pg-boss fetch/complete loop on
 * equivalent jobs in the same run, plus the process RSS sampled while the consumer runs.
 *
 *   npx node bench/consumer.bench.ts [operations=100000] [concurrency=4] [batchSize=100] [rounds=8]
 *
 * Like with like: both sides get the same number of jobs, written the same way (seedBulk, one
 * statement per 10,000 jobs), in queues with the same policy (ensureQueues), in one job table that
 * is ANALYZEd after the load; both run the same batch size and concurrency, and both are warmed up
 * first. The raw loop does what the consumer has to do at the least: fetch a batch, complete it.
 * The machines are shared and their load drifts, so the two sides alternate in rounds (raw then
 * consumer, then consumer then raw, ...) and the ratio is of the summed times.
 * With PROFILE=1 it prints the mean time per call of each statement of each side. With KEYED=1 the
 * operations are ordered per entity key (each its own sku), so every one goes through the key queue.
 *
 * With RSS=1 it measures memory only: one consumer works through `operations` (default 1,000,000,
 * loaded in bulks of 100,000) in one go, and it prints the worker's RSS per quarter of the run
 * (flat: the last quarter's mean within 10% of the first's). No raw side, no rounds. With WINDOW=1
 * it also prints the consumer's run as a window of monotonic microseconds, the clock of
 * `node --cpu-prof`'s samples, so a profile can be cut to the consumer alone.
 */
import type { Job, PgBoss } from 'pg-boss';
import { createTestDatabase, type TestDatabase } from '../test/support/db.ts';
import { seedBulk, silentLog } from '../test/consumer/seed.ts';
import { analyzeJobs, createBoss, ensureQueues } from '../src/queue/boss.ts';
import { startConsumer } from '../src/consumer/consumer.ts';
import { orderRules, saveOrderRules } from '../src/operations/order-keys.ts';
import { ident, type Pool } from '../src/db/pool.ts';
import { readFileSync } from 'node:fs';
import { cpuSample, type CpuSample } from './support/cpu.ts';

const N = Number(process.argv[2] ?? 100_000);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const BATCH = Number(process.argv[4] ?? 100);
const ROUNDS = Math.max(1, Number(process.argv[5] ?? 8));
const WARMUP = BATCH * CONCURRENCY * 5;
const PROFILE = process.env.PROFILE === '1';
const KEYED = process.env.KEYED === '1';
const RAW_ENTITY = 'bench_raw';
const RAW_QUEUE = `async.${RAW_ENTITY}`;

if (process.env.RSS === '1') {
  await rssRun(Number(process.argv[2] ?? 1_000_000));
  process.exit(0);
}

const db = await createTestDatabase('bench_consumer');
const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, max: 20 });
const timings = profile(boss, db.pool);
try {
  const policy = { heartbeatSeconds: null, expireInSeconds: 600 };
  await ensureQueues(boss, ['products', RAW_ENTITY], policy);

  const t = performance.now();
  const total = N + WARMUP;
  if (KEYED) {
    await saveOrderRules(
      db.pool,
      db.schema,
      orderRules([{ operationId: 'Noop', entity: 'products', pathParams: ['sku'] }], new Map()),
    );
  }
  const bulk = await seedBulk(db.pool, boss, db.schema, { count: total, operationId: 'Noop' });
  await seedBulk(db.pool, boss, db.schema, { count: total, operationId: 'Noop', entity: RAW_ENTITY });
  await analyzeJobs(db.pool, db.bossSchema);
  await db.pool.query(`ANALYZE ${ident(db.schema)}.operation, ${ident(db.schema)}.bulk`);
  console.log(
    `load: ${total} operations with jobs + ${total} raw jobs in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const rss: number[] = [];
  const sampler = () => setInterval(() => rss.push(process.memoryUsage().rss), 250);

  /** Baseline: what pg-boss alone does with `count` jobs at this batch size and concurrency. */
  const raw = async (count: number): Promise<number> => {
    let reserved = 0;
    let done = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (;;) {
          const want = Math.min(BATCH, count - reserved);
          if (want <= 0) return;
          reserved += want;
          const jobs: Job[] = await boss.fetch(RAW_QUEUE, { batchSize: want });
          reserved -= want - jobs.length;
          if (!jobs.length) throw new Error('raw queue ran dry');
          await boss.complete(RAW_QUEUE, jobs);
          done += jobs.length;
        }
      }),
    );
    if (done !== count) throw new Error(`raw loop did ${done} of ${count}`);
    return performance.now() - start;
  };

  const consume = async (count: number, sample: boolean): Promise<number> => {
    const timer = sample ? sampler() : undefined;
    const start = performance.now();
    const consumer = await noopConsumer(db, boss, count);
    await consumer.done;
    const ms = performance.now() - start;
    clearInterval(timer);
    if (consumer.handled() !== count) throw new Error(`consumer handled ${consumer.handled()} of ${count}`);
    return ms;
  };

  await raw(WARMUP);
  await consume(WARMUP, false);
  timings.clear();

  let rawMs = 0;
  let consumerMs = 0;
  // CPU of this process (user + system): how much of each side's time is Node's rather than the server's.
  const ratios: number[] = [];
  let rawCpu = 0;
  let consumerCpu = 0;
  // CPU of the PostgreSQL backends serving this process (support/cpu.ts): on a 2-core machine the
  // server's CPU per job limits throughput as much as Node's.
  let rawPg = 0;
  let consumerPg = 0;
  let rawAux = 0;
  let consumerAux = 0;
  const perRound = Math.floor(N / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const count = r === ROUNDS - 1 ? N - perRound * (ROUNDS - 1) : perRound;
    let rr = 0;
    let cc = 0;
    const runRaw = async () => {
      timings.side = 'raw';
      const cpu = process.cpuUsage();
      const pg = serverCpu();
      rr = await raw(count);
      const used = pg.end();
      rawCpu += cpuMs(process.cpuUsage(cpu)) - used.own;
      rawPg += used.pg;
      rawAux += used.aux;
    };
    const runConsumer = async () => {
      timings.side = 'consumer';
      const cpu = process.cpuUsage();
      const pg = serverCpu();
      cc = await consume(count, true);
      const used = pg.end();
      consumerCpu += cpuMs(process.cpuUsage(cpu)) - used.own;
      consumerPg += used.pg;
      consumerAux += used.aux;
    };
    if (r % 2 === 0) {
      await runRaw();
      await runConsumer();
    } else {
      await runConsumer();
      await runRaw();
    }
    rawMs += rr;
    consumerMs += cc;
    ratios.push(rr / cc);
    console.log(
      `round ${r + 1}: ${count} each, raw ${((count / rr) * 1000).toFixed(0)} jobs/s, ` +
        `consumer ${((count / cc) * 1000).toFixed(0)} ops/s (${(rr / cc).toFixed(2)}x)`,
    );
    if (PROFILE) {
      timings.print();
      timings.clear();
    }
  }

  const rawRate = (N / rawMs) * 1000;
  const rate = (N / consumerMs) * 1000;
  const { rows } = await db.pool.query(
    `SELECT status, count(*)::int AS n FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1 GROUP BY status ORDER BY status`,
    [bulk],
  );
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log(`raw pg-boss fetch/complete: ${N} jobs in ${(rawMs / 1000).toFixed(2)} s = ${rawRate.toFixed(0)} jobs/s`);
  console.log(
    `consumer end-to-end:        ${N} operations in ${(consumerMs / 1000).toFixed(2)} s = ${rate.toFixed(0)} ops/s`,
  );
  console.log(
    `node CPU per 100 jobs: raw ${((rawCpu / N) * 100).toFixed(2)} ms, consumer ${((consumerCpu / N) * 100).toFixed(2)} ms ` +
      `(process CPU over wall time: raw ${((rawCpu / rawMs) * 100).toFixed(0)}%, consumer ${((consumerCpu / consumerMs) * 100).toFixed(0)}%)`,
  );
  console.log(
    `postgres backends' CPU per 100 jobs: raw ${((rawPg / N) * 100).toFixed(2)} ms, consumer ${((consumerPg / N) * 100).toFixed(2)} ms ` +
      `(WAL writer, checkpointer, background writer, shared with other sessions: raw ${((rawAux / N) * 100).toFixed(2)} ms, consumer ${((consumerAux / N) * 100).toFixed(2)} ms); ` +
      `node + postgres: raw ${(((rawCpu + rawPg) / N) * 100).toFixed(2)} ms, consumer ${(((consumerCpu + consumerPg) / N) * 100).toFixed(2)} ms ` +
      `(${((rawCpu + rawPg) / (consumerCpu + consumerPg)).toFixed(2)}x)`,
  );
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
  console.log(
    `ratio: ${(rate / rawRate).toFixed(2)}x (goal >= 0.8x), median of rounds ${median.toFixed(2)}x; statuses ${JSON.stringify(rows)} (warm-up included)`,
  );
  const step = Math.max(1, Math.floor(rss.length / 12));
  console.log(
    `worker RSS MiB over the consumer rounds (${rss.length} samples, every ${step}th): ` +
      rss
        .filter((_, i) => i % step === 0)
        .map(mb)
        .join(' ') +
      `; first quarter mean ${mb(mean(rss.slice(0, quarter)))}, last quarter mean ${mb(mean(rss.slice(-quarter)))}, max ${mb(Math.max(...rss))}`,
  );
} finally {
  await boss.stop({ graceful: false });
  await db.drop();
}

/**
 * CPU ms of the PostgreSQL backends serving this process over a window (support/cpu.ts). The
 * consumer's fetch connections end with it, so the backends are read every 100 ms as well, and a
 * backend's last reading before it exits still counts; which backends are ours is looked up again
 * every second (a look reads every process's stat and every socket: too dear to make every 100 ms).
 * `own` is the Node CPU ms the sampling took (left out of Node's).
 */
function serverCpu(): { end(): { pg: number; aux: number; own: number } } {
  let own = 0;
  const timed = <T>(f: () => T): T => {
    const before = process.cpuUsage();
    try {
      return f();
    } finally {
      own += cpuMs(process.cpuUsage(before));
    }
  };
  const start = timed(cpuSample).postgres;
  const last = new Map(start);
  const take = (s: CpuSample) => {
    for (const [pid, seconds] of s.postgres) last.set(pid, seconds);
  };
  const readKnown = () => {
    for (const pid of last.keys()) {
      const seconds = backendSeconds(pid);
      if (seconds !== null) last.set(pid, seconds);
    }
  };
  let ticks = 0;
  const timer = setInterval(() => timed(() => (++ticks % 10 === 2 ? take(cpuSample()) : readKnown())), 100);
  return {
    end() {
      clearInterval(timer);
      timed(() => take(cpuSample()));
      let pg = 0;
      let aux = 0;
      for (const [pid, seconds] of last) {
        const ms = (seconds - (start.get(pid) ?? 0)) * 1000;
        if (auxiliary(pid)) aux += ms;
        else pg += ms;
      }
      return { pg, aux, own };
    },
  };
}

/** utime + stime of a process, seconds; null once it is gone. */
function backendSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The WAL writer, checkpointer or background writer: shared with every other session of the server. */
function auxiliary(pid: number): boolean {
  try {
    return /writer|checkpointer/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

/** With PROFILE=1: time spent per pg-boss call and per statement of our pool, by side. */
/** The consumer this bench measures: no-op handlers on async.products, stopping after `count` operations. */
function noopConsumer(db: TestDatabase, boss: PgBoss, count: number) {
  return startConsumer({
    pool: db.pool,
    boss,
    schema: db.schema,
    registry: { invoke: async (operationId) => ({ result: null, handler: `Bench_Noop::${operationId}` }) },
    queues: ['async.products'],
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    maxMessages: count,
    log: silentLog,
  });
}

function profile(boss: PgBoss, pool: Pool) {
  const stats = new Map<string, { n: number; ms: number }>();
  const state = {
    side: 'warm-up',
    clear: () => stats.clear(),
    print() {
      for (const [label, s] of [...stats].sort()) {
        console.log(`  ${label.padEnd(40)} ${String(s.n).padStart(6)} calls, mean ${(s.ms / s.n).toFixed(2)} ms`);
      }
    },
  };
  if (!PROFILE) return state;
  const add = (label: string, ms: number) => {
    const s = stats.get(`${state.side} ${label}`) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += ms;
    stats.set(`${state.side} ${label}`, s);
  };
  const wrap = <T extends object>(target: T, method: keyof T & string, label: (args: unknown[]) => string) => {
    const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
    (target as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      const start = performance.now();
      try {
        return await original(...args);
      } finally {
        add(label(args), performance.now() - start);
      }
    };
  };
  wrap(boss, 'fetch', () => 'boss.fetch');
  wrap(boss, 'complete', () => 'boss.complete (incl. outcomes)');
  wrap(boss, 'fail', () => 'boss.fail');
  wrap(pool, 'query', (args) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
    return `pool: ${text.replace(/\s+/g, ' ').trim().slice(0, 28)}`;
  });
  return state;
}

/** RSS=1: one consumer over `n` operations, its RSS per quarter of the run. */
async function rssRun(n: number): Promise<void> {
  const db = await createTestDatabase('bench_consumer_rss');
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema, max: 20 });
  try {
    await ensureQueues(boss, ['products'], { heartbeatSeconds: null, expireInSeconds: 600 });
    const t = performance.now();
    for (let done = 0; done < n; done += 100_000) {
      await seedBulk(db.pool, boss, db.schema, { count: Math.min(100_000, n - done), operationId: 'Noop' });
    }
    await analyzeJobs(db.pool, db.bossSchema);
    await db.pool.query(`ANALYZE ${ident(db.schema)}.operation, ${ident(db.schema)}.bulk`);
    console.log(`load: ${n} operations with jobs in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const samples: { at: number; handled: number; rss: number }[] = [];
    const start = performance.now();
    const windowFrom = process.hrtime.bigint() / 1000n;
    const consumer = await noopConsumer(db, boss, n);
    const timer = setInterval(
      () =>
        samples.push({ at: performance.now() - start, handled: consumer.handled(), rss: process.memoryUsage().rss }),
      1000,
    );
    await consumer.done;
    clearInterval(timer);
    if (process.env.WINDOW === '1') console.log(`window ${windowFrom} ${process.hrtime.bigint() / 1000n}`);
    const seconds = (performance.now() - start) / 1000;
    const mib = (b: number) => (b / 2 ** 20).toFixed(0);
    // Quarters of the work (by operations handled), so a slow patch does not weigh more.
    const quarters = [0, 1, 2, 3].map((q) =>
      samples.filter((s) => s.handled >= (q * n) / 4 && s.handled < ((q + 1) * n) / 4).map((s) => s.rss),
    );
    const means = quarters.map((xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    const ratio = means[3]! / means[0]!;
    console.log(
      `consumer: ${consumer.handled()} operations in ${seconds.toFixed(0)} s = ${(n / seconds).toFixed(0)} ops/s`,
    );
    console.log(
      `worker RSS MiB per quarter of the operations (mean of ${quarters.map((q) => q.length).join('/')} samples): ` +
        `${means.map(mib).join(', ')}; max ${mib(Math.max(...samples.map((s) => s.rss)))}; ` +
        `last/first ${ratio.toFixed(2)} (${Math.abs(ratio - 1) <= 0.1 ? 'flat' : 'NOT flat'}: goal within 10%)`,
    );
  } finally {
    await boss.stop({ graceful: false });
    await db.drop();
  }
}
