/**
 * `npm test` (and `npm run test:timings`): every `test/**\/*.test.ts`, each file in a process of its
 * own with test/support/db.ts as the global setup, as `node --test` would run them, with two
 * differences that make the suite fit in a developer's pause:
 *
 * - Four files at once (TEST_CONCURRENCY overrides). Most files wait (for processes to start, for
 *   a consumer, for PostgreSQL) rather than compute, so two at once left a 2-core machine idle
 *   about a third of the run. Four stay well within PostgreSQL's default 100 connections: the peak
 *   measured over a whole run is set by test/consumer/crash.test.ts's four consumer processes.
 * - The slowest files start first. `node --test` starts files in path order, so a long file that
 *   sorts late (test/package/journey.test.ts) ran alone at the end; longest first, the others fill
 *   the slots beside it. SLOWEST is that order, from `npm run test:timings`: a file missing from
 *   it only starts later, in path order.
 *
 *   node scripts/test.ts [--timings] [file…]
 * With files, only those run. `--timings`: the dot reporter on stderr and the slowest files on
 * stdout (test/support/timings-reporter.ts) instead of the spec reporter.
 */
import { globSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { run } from 'node:test';
import { dot, spec } from 'node:test/reporters';
import timings from '../test/support/timings-reporter.ts';

/**
 * The files that take longest (1.4 % or more of the suite's summed time each), longest first: a
 * whole run's `npm run test:timings` (206 s wall, 815 s summed, on the quiet 2-core machine).
 */
const SLOWEST = [
  'test/docs/testing-plugins.md.test.ts',
  'test/consumer/crash.test.ts',
  'test/package/journey.test.ts',
  'test/docs/readme.md.test.ts',
  'test/package/journey-engines-floor.test.ts',
  'test/codegen/real-specs.test.ts',
  'test/operations/cancel-race.test.ts',
  'test/consumer/capacity.test.ts',
  'test/package/journey-project-node.test.ts',
  'test/consumer/loop.test.ts',
  'test/consumer/consumer.test.ts',
  'test/docs/authentication.md.test.ts',
  'test/docs/consumers-and-retries.md.test.ts',
  'test/operations/requires.test.ts',
  'test/auth/clients.e2e.test.ts',
  'test/plugins-shipped/http-forward/consumer.test.ts',
  'test/admin/dashboard.browser.test.ts',
  'test/plugins-shipped/http-forward/politeness.test.ts',
  'test/journeys/operator.test.ts',
];

const args = process.argv.slice(2);
const timed = args.includes('--timings');
const named = args.filter((a) => a !== '--timings');
const all = named.length ? named : globSync('test/**/*.test.ts').sort();
const rank = (file: string) => {
  const i = SLOWEST.indexOf(file);
  return i === -1 ? SLOWEST.length : i;
};
const files = all.map((file, i) => ({ file, i })).sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i);

// globalSetupPath: in Node since 24.0, not yet in the @types/node we build with.
const options: Parameters<typeof run>[0] & { globalSetupPath: string } = {
  files: files.map((f) => f.file),
  concurrency: Number(process.env.TEST_CONCURRENCY ?? 4),
  globalSetupPath: 'test/support/db.ts',
};
const stream = run(options);
// As `node --test` does: any unsuccessful summary (a file's or the run's) fails the run.
stream.on('test:summary', (data: { success: boolean }) => {
  if (!data.success) process.exitCode = 1;
});

if (timed) {
  const [forDots, forTimings] = tee(stream, 2);
  forDots!.compose(dot).pipe(process.stderr);
  forTimings!.compose(timings).pipe(process.stdout);
} else {
  stream.compose(new spec()).pipe(process.stdout);
}

/** `n` readers of every event of `source`. */
function tee(source: Readable, n: number): PassThrough[] {
  const copies = Array.from({ length: n }, () => new PassThrough({ objectMode: true }));
  source.on('data', (event) => copies.forEach((c) => c.write(event)));
  source.on('end', () => copies.forEach((c) => c.end()));
  return copies;
}
