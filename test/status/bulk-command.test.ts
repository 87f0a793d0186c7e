/** `bulk:status` against the real database (in-process through `main`, output captured). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatDuration, progressLine } from '../../src/commands/bulk.ts';
import { startDriver } from '../support/drive.ts';
import { startCli } from '../support/processes.ts';
import { PROJECT_ROOT } from '../support/checkout.ts';

const db = await createTestDatabase('status_cli');
const drive = await startDriver(db);
test.after(async () => {
  await drive.close();
  await db.drop();
});

/**
 * Runs the real CLI in a child process: capturing this process's stdout would also swallow the
 * test runner's own reports.
 */
const BIN = fileURLToPath(new URL('../../bin/magento-async.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: stdout, err: stderr });
      },
    );
  });
}

const OK = '00000000-0000-4000-8000-000000000101';
const BAD = '00000000-0000-4000-8000-000000000102';
const OPEN = '00000000-0000-4000-8000-000000000103';
// Reached by a real consumer; OPEN's second operation is still in its handler until released.
const owner = { userType: 1, userId: 1 };
await drive.accept({ uuid: OK, ...owner, operations: [{}, {}] });
await drive.accept({ uuid: BAD, ...owner, operations: [{}, { fail: 'rejected by the handler' }] });
await drive.accept({ uuid: OPEN, ...owner, operations: [{}, { gate: 'open' }] });
await drive.settled(OK);
await drive.settled(BAD);
await drive.reached('open');

test('exit codes and summary', async () => {
  const cases: [string[], number, RegExp][] = [
    [['bulk:status', OK], 0, /Finished Successfully/],
    [['bulk:status', BAD, '--json'], 1, /"bulk_status":3/],
    [['bulk:status', OPEN], 1, /In Progress/],
    [['bulk:status', '00000000-0000-4000-8000-00000000dead'], 1, /^$/],
    [['bulk:status', 'nope'], 1, /^$/],
  ];
  for (const [args, code, out] of cases) {
    const r = await run(args);
    assert.equal(r.code, code, args.join(' '));
    assert.match(r.out, out, args.join(' '));
  }
  const help = await run(['bulk:status', '--help']);
  assert.equal(help.code, 0);
});

test('--watch follows the bulk until it finishes', async () => {
  const watch = startCli(process.execPath, [BIN, 'bulk:status', OPEN, '--watch', '--interval', '100'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema },
  });
  try {
    // The operation finishes once the watch has shown it open.
    await watch.waitFor(/done 1\s+failed 0\s+open 1/, 30_000);
    drive.release('open');
    assert.equal(await watch.exited, 0, watch.stderr() + watch.stdout());
  } finally {
    await watch.stop('SIGKILL');
  }
  assert.match(watch.stderr(), /100\.0%\s+done 2\s+failed 0\s+open 0/);
  assert.match(watch.stdout(), /Finished Successfully/);
});

test('progress line and durations', () => {
  assert.equal(
    progressLine({ done: 45, failed: 5, open: 50, total: 100 }, 10, 10),
    '[#####-----]  50.0%  done 45  failed 5  open 50  10/s  ETA 5s',
  );
  assert.equal(formatDuration(75), '1m15s');
  assert.equal(formatDuration(7300), '2h01m');
});
