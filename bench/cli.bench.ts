/**
 * CLI start-up: `--help` and `bulk:status` of a finished bulk, each as a fresh process, against
 * `node -e 0` (the floor: a Node process that does nothing) measured in the same run, interleaved.
 * The target: `--help` within 2× the floor, and `bulk:status` within 2× the floor plus one database
 * round trip (a fresh connection and the summary query, timed in this process). Two bins, in the
 * same rounds: the installed package's, dist/src/bin.js (what users run; `npm run build` first,
 * else it is left out), and this checkout's bin/magento-async.js (TypeScript through type stripping).
 * Beside them, a bare program loading commander and pg and reading the summary: the same libraries,
 * none of this package's code, so what the design cannot go below under the run's load.
 *   npm run bench:cli
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { selectBulkSummary } from '../src/db/sql/status.ts';
import { createTestDatabase } from '../test/support/db.ts';
import { startDriver } from '../test/support/drive.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const root = join(import.meta.dirname, '..');
const bins = [
  { label: 'installed package (dist/src/bin.js)', file: join(root, 'dist/src/bin.js') },
  { label: 'checkout (bin/magento-async.js, type stripping)', file: join(root, 'bin/magento-async.js') },
].filter((bin) => existsSync(bin.file));
if (bins.length < 2) console.log('dist/src/bin.js is not built (npm run build): the installed bin is left out');

const db = await createTestDatabase('cli_bench');
const driver = await startDriver(db);
try {
  const uuid = await driver.accept({ operations: [{ ok: 1 }, { ok: 2 }, { ok: 3 }] });
  await driver.settled(uuid);
  await driver.close();
  const env = { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema };

  const timed = (args: string[], expect: RegExp): number => {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    const ms = performance.now() - started;
    if (result.status !== 0 || !expect.test(result.stdout))
      throw new Error(`node ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
    return ms;
  };
  const roundTrip = async (): Promise<number> => {
    const started = performance.now();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(selectBulkSummary(db.schema), [uuid]);
    const ms = performance.now() - started;
    await client.end();
    return ms;
  };

  // What no CLI of this design can go below: its two libraries (commander, pg) loaded and the
  // bulk's summary read, with no code of magento-async.
  const bare = [
    '--input-type=module',
    '-e',
    `(await import('node:module')).enableCompileCache();
     await import('commander');
     const { default: pg } = await import('pg');
     const client = new pg.Client({ connectionString: ${JSON.stringify(db.url)} });
     await client.connect();
     await client.query(${JSON.stringify(selectBulkSummary(db.schema))}, [${JSON.stringify(uuid)}]);
     await client.end();`,
  ];
  const samples = { floor: [] as number[], db: [] as number[], bare: [] as number[] };
  const perBin = bins.map(() => ({ help: [] as number[], status: [] as number[], watch: [] as number[] }));
  // The first round warms the disk cache and Node's compile cache: not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    const floor = timed(['-e', '0'], /^$/);
    const bareTime = timed(bare, /^$/);
    const times = bins.map(({ file }) => ({
      help: timed([file, '--help'], /Usage: magento-async/),
      status: timed([file, 'bulk:status', uuid], /Finished Successfully/),
      watch: timed([file, 'bulk:status', uuid, '--watch'], /Finished Successfully/),
    }));
    const trip = await roundTrip();
    if (round === 0) continue;
    samples.floor.push(floor);
    samples.bare.push(bareTime);
    samples.db.push(trip);
    times.forEach((t, i) => {
      perBin[i]!.help.push(t.help);
      perBin[i]!.status.push(t.status);
      perBin[i]!.watch.push(t.watch);
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const floor = median(samples.floor);
  const trip = median(samples.db);
  const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
  const line = (label: string, x: number, ratio: number) =>
    console.log(`  ${label.padEnd(38)}${ms(x)}   ratio ${ratio.toFixed(2)}${ratio <= 2 ? '' : '   (target ≤ 2)'}`);
  console.log(
    `CLI start-up, median of ${ROUNDS} fresh processes each (load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log(`  ${'node -e 0 (the floor)'.padEnd(38)}${ms(floor)}`);
  console.log(`  ${'one database round trip (connect+read)'.padEnd(38)}${ms(trip)}`);
  const bareMs = median(samples.bare);
  console.log(
    `  ${'commander + pg + the read, bare − trip'.padEnd(38)}${ms(bareMs)}   ratio ${((bareMs - trip) / floor).toFixed(2)}`,
  );
  bins.forEach(({ label }, i) => {
    const { help, status, watch } = perBin[i]!;
    console.log(`${label}:`);
    line('--help                 / floor', median(help), median(help) / floor);
    line('bulk:status − trip     / floor', median(status), (median(status) - trip) / floor);
    line('bulk:status --watch − trip / floor', median(watch), (median(watch) - trip) / floor);
  });
} finally {
  await driver.close().catch(() => {});
  await db.drop();
}
