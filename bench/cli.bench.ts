/**
 * CLI start-up: `--help` and `bulk:status` of a finished bulk, each as a fresh process, against
 * `node -e 0` (the floor: a Node process that does nothing) measured in the same run, interleaved.
 * The target: `--help` within 2× the floor, and `bulk:status` within 2× the floor plus one database
 * round trip (a fresh connection and the summary query, timed in this process).
 *   npm run bench:cli            the bin of this checkout (TypeScript through type stripping)
 *   npm run bench:cli -- --dist  the compiled bin, dist/src/bin.js (what the published package runs; npm run build first)
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
const bin = process.argv.includes('--dist') ? join(root, 'dist/src/bin.js') : join(root, 'bin/magento-async.js');
if (!existsSync(bin)) throw new Error(`${bin} does not exist: run npm run build first`);

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

  const samples = {
    floor: [] as number[],
    help: [] as number[],
    status: [] as number[],
    watch: [] as number[],
    db: [] as number[],
  };
  // The first round warms the disk cache and Node's compile cache: not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    const floor = timed(['-e', '0'], /^$/);
    const help = timed([bin, '--help'], /Usage: magento-async/);
    const status = timed([bin, 'bulk:status', uuid], /Finished Successfully/);
    const watch = timed([bin, 'bulk:status', uuid, '--watch'], /Finished Successfully/);
    const trip = await roundTrip();
    if (round === 0) continue;
    samples.floor.push(floor);
    samples.help.push(help);
    samples.status.push(status);
    samples.watch.push(watch);
    samples.db.push(trip);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const floor = median(samples.floor);
  const trip = median(samples.db);
  const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
  const line = (label: string, x: number, ratio: number) =>
    console.log(`  ${label.padEnd(38)}${ms(x)}   ratio ${ratio.toFixed(2)}${ratio <= 2 ? '' : '   (target ≤ 2)'}`);
  console.log(
    `CLI start-up, median of ${ROUNDS} fresh processes each (${bin.startsWith(join(root, 'dist')) ? 'dist' : 'source'} bin; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log(`  ${'node -e 0 (the floor)'.padEnd(38)}${ms(floor)}`);
  console.log(`  ${'one database round trip (connect+read)'.padEnd(38)}${ms(trip)}`);
  line('--help                 / floor', median(samples.help), median(samples.help) / floor);
  line('bulk:status − trip     / floor', median(samples.status), (median(samples.status) - trip) / floor);
  line('bulk:status --watch − trip / floor', median(samples.watch), (median(samples.watch) - trip) / floor);
} finally {
  await driver.close().catch(() => {});
  await db.drop();
}
