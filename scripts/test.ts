/**
 * `npm test` (and `npm run test:timings`): every `test/**\/*.test.ts`, each file in a process of its
 * own with test/support/db.ts as the global setup, as `node --test` would run them, with three
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
 * - Files that start no process, reach no database and change nothing process-wide share a few
 *   processes (test/support/in-process.ts says which, from their source, and how): a process of
 *   its own costs such a file more CPU (Node's start, type stripping, loading the source under test
 *   again) than its tests, on a machine the suite keeps busy. Each runs as a suite named for its
 *   file. TEST_GROUPS sets how many processes they share (0: every file in its own).
 *
 *   node scripts/test.ts [--timings] [file…]
 * With files, only those run. `--timings`: the dot reporter on stderr and the slowest files on
 * stdout (test/support/timings-reporter.ts) instead of the spec reporter.
 */
import { existsSync, globSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { run } from 'node:test';
import { dot, spec } from 'node:test/reporters';
import { claimName, GROUP_FILE, ownProcessReason, SHARED_FILES_ENV } from '../test/support/in-process.ts';
import timings from '../test/support/timings-reporter.ts';

/**
 * The files that take longest (1.1 % or more of the suite's summed time each), longest first: a
 * whole run's `npm run test:timings` on a fresh clone (220 s wall, 1,295 s summed, quiet 2-core
 * machine, six files at once).
 */
const SLOWEST = [
  'test/package/journey.test.ts',
  'test/docs/testing-plugins.md.test.ts',
  'test/package/journey-engines-floor.test.ts',
  'test/docs/readme.md.test.ts',
  'test/consumer/crash.test.ts',
  'test/operations/cancel-race.test.ts',
  'test/package/journey-project-node.test.ts',
  'test/consumer/capacity.test.ts',
  'test/codegen/real-specs.test.ts',
  'test/docs/authentication.md.test.ts',
  'test/docs/consumers-and-retries.md.test.ts',
  'test/auth/clients.e2e.test.ts',
  'test/operations/requires.test.ts',
  'test/config/cache.test.ts',
  'test/commands/auth.test.ts',
  'test/plugins-shipped/http-forward/consumer.test.ts',
  'test/plugins-shipped/http-forward/politeness.test.ts',
  'test/admin/dashboard.browser.test.ts',
  'test/docs/dashboard.md.test.ts',
  'test/commands/plugin.test.ts',
  'test/dev/private-parent.test.ts',
  'test/consumer/loop.test.ts',
  'test/consumer/consumer.test.ts',
  'test/docs/validate-only.md.test.ts',
  'test/dev/embedded.test.ts',
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

const shared = files.filter((f) => ownProcessReason(f.file) === null).map((f) => f.file);
// Fewer than four such files gain too little from sharing to be worth a suite around each.
const groups = shared.length < 4 ? 0 : Math.min(Number(process.env.TEST_GROUPS ?? 2), Math.floor(shared.length / 4));
const own = groups ? files.filter((f) => !shared.includes(f.file)) : files;
// The groups start after the slowest files, so that these start first, and before the rest: each
// group takes the next file left (slowest first) until none is, so they end together wherever they start.
const at = own.findIndex((f) => rank(f.file) === SLOWEST.length);
const order = own.map((f) => f.file);
order.splice(at === -1 ? order.length : at, 0, ...Array<string>(groups).fill(GROUP_FILE));
// Where the groups claim files: outside the run's folder, which the global setup makes later and
// which must end empty.
const claims = groups ? mkdtempSync(join(tmpdir(), 'magento-async-test-claims-')) : null;
if (claims) {
  process.env[SHARED_FILES_ENV] = JSON.stringify({ claims, files: shared });
  // Also when the run ends without its stream ending (the global setup threw).
  process.on('exit', () => rmSync(claims, { recursive: true, force: true }));
}

// globalSetupPath: in Node since 24.0, not yet in the @types/node we build with.
const options: Parameters<typeof run>[0] & { globalSetupPath: string } = {
  files: order,
  concurrency: Number(process.env.TEST_CONCURRENCY ?? 4),
  globalSetupPath: 'test/support/db.ts',
};
const stream = run(options);
// As `node --test` does: any unsuccessful summary (a file's or the run's) fails the run.
stream.on('test:summary', (data: { success: boolean }) => {
  if (!data.success) process.exitCode = 1;
});
if (claims) {
  // A file no group took never ran (its groups ended early): that fails the run too, by name.
  stream.on('end', () => {
    const missed = shared.filter((file) => !existsSync(join(claims, claimName(file))));
    rmSync(claims, { recursive: true, force: true });
    if (missed.length) {
      process.stderr.write(`\n✖ no shared process ran these files:\n${missed.map((f) => `  ${f}\n`).join('')}`);
      process.exitCode = 1;
    }
  });
}

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
