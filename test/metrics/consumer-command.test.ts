/**
 * A consumer process's own metrics port: `queue:consumers:start --metrics-port 0` prints where it
 * serves /metrics, which answers while it runs, with the consumer's heartbeat counted alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../support/db.ts';
import { TEST_LOCATIONS } from '../support/project.ts';
import { waitFor } from '../support/wait.ts';

const CLI = fileURLToPath(new URL('../../bin/magento-async.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('queue:consumers:start --metrics-port 0 serves /metrics on its own port until it stops', async () => {
  const db = await createTestDatabase('consumer-metrics');
  const dir = mkdtempSync(join(tmpdir(), 'consumer-metrics-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      ...TEST_LOCATIONS,
      schema: db.schema,
      bossSchema: db.bossSchema,
      logLevel: 'warn',
      metrics: { loopbackOnly: true },
    }),
  );
  const child = spawn(process.execPath, [CLI, 'queue:consumers:start', 'async.operations.all', '--metrics-port', '0'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const url = await waitFor(
      () => /Metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stdout)?.[1],
      30_000,
      'the metrics URL',
    ).catch(() => assert.fail(`no metrics URL printed:\n${stdout}\n${stderr}`));
    const text = await (await fetch(url)).text();
    assert.match(text, /^# TYPE magento_async_processed_operations_total counter$/m);
    assert.match(text, /^magento_async_consumers_alive 1$/m);
    const other = await fetch(url.replace('/metrics', '/other'));
    assert.equal(other.status, 404);
    await other.text();
  } finally {
    // The whole process group, as a terminal's Ctrl-C or a supervisor would.
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    assert.equal(await exited, 0, stderr);
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
});
