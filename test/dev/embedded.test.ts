/**
 * The embedded PostgreSQL wrapper: first start (initdb), SQL, stop, restart; recovery after the
 * postmaster or its owning process was killed; a clear error while another live process owns it.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { databaseAnswers, startEmbeddedPostgres } from '../../src/dev/embedded.ts';
import { waitFor } from '../support/wait.ts';

const dataDir = resolve(`var/test-embedded-${randomBytes(4).toString('hex')}`);
const moduleUrl = new URL('../../src/dev/embedded.ts', import.meta.url).href;
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function scalar(url: string, sql: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const row = (await client.query(sql)).rows[0] as object | undefined;
    return row ? Object.values(row)[0] : undefined;
  } finally {
    await client.end();
  }
}

async function waitGone(pid: number, ms = 10_000): Promise<void> {
  const gone = () => {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    // A zombie has exited; only its parent's wait is missing.
    return /\) Z /.test(existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '');
  };
  await waitFor(gone, ms, `pid ${pid} to be gone`);
}

test('starts (initialising the data directory), answers SQL, stops and starts again on the same port', async () => {
  const t0 = Date.now();
  const first = await startEmbeddedPostgres({ dataDir });
  const firstMs = Date.now() - t0;
  assert.equal(first.initialised, true);
  assert.match(String(await scalar(first.url, 'SELECT version()')), /^PostgreSQL 18\./);
  await scalar(first.url, 'CREATE TABLE kept (x int)');
  await scalar(first.url, 'INSERT INTO kept VALUES (42)');
  await first.stop();
  await first.stop(); // idempotent
  assert.equal(await databaseAnswers(first.url, 500), false);

  const t1 = Date.now();
  const second = await startEmbeddedPostgres({ dataDir });
  const secondMs = Date.now() - t1;
  assert.equal(second.initialised, false);
  assert.equal(second.port, first.port, 'the port is remembered');
  assert.equal(await scalar(second.url, 'SELECT x FROM kept'), 42, 'data is kept between runs');
  await second.stop();
  process.stderr.write(`embedded PostgreSQL: first start ${firstMs} ms, later start ${secondMs} ms\n`);
});

test('recovers after the postmaster was SIGKILLed (stale postmaster.pid)', async () => {
  const running = await startEmbeddedPostgres({ dataDir });
  process.kill(running.pid, 'SIGKILL');
  await waitGone(running.pid);
  assert.ok(existsSync(resolve(dataDir, 'postmaster.pid')), 'the stale pid file is left behind');
  const again = await startEmbeddedPostgres({ dataDir });
  assert.notEqual(again.pid, running.pid);
  assert.equal(await scalar(again.url, 'SELECT x FROM kept'), 42);
  await again.stop();
});

test('recovers after the process that started it was SIGKILLed (orphaned postmaster)', async () => {
  const script =
    `const { startEmbeddedPostgres } = await import(${JSON.stringify(moduleUrl)});` +
    `const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });` +
    `process.stdout.write(String(pg.pid)); process.kill(process.pid, 'SIGKILL');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const orphan = Number(child.stdout);
  assert.doesNotThrow(() => process.kill(orphan, 0), 'the postmaster survived its owner');
  const again = await startEmbeddedPostgres({ dataDir });
  assert.notEqual(again.pid, orphan);
  assert.equal(await scalar(again.url, 'SELECT x FROM kept'), 42);

  // While this (live) process owns it, another process is refused with a clear message.
  const second = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(moduleUrl)}); await m.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });`,
    ],
    { encoding: 'utf8' },
  );
  assert.notEqual(second.status, 0);
  assert.match(
    second.stderr,
    new RegExp(`already running \\(postmaster pid ${again.pid}, started by process ${process.pid}\\)`),
  );
  assert.equal(await scalar(again.url, 'SELECT 1'), 1, 'the refused start did not disturb it');
  await again.stop();
});
