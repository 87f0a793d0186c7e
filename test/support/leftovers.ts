/**
 * What a run of the suite leaves behind, found at its end: every test process gets the run's own
 * temporary folder (TMPDIR), a tag in its environment, a codegen cache for the run (so a large
 * spec is generated once however many tests generate it), magento-async's cache folder for the run
 * (the embedded PostgreSQL's template: `initdb` once per run) and Node's compile cache, and each schema a test makes is noted
 * until the test drops it. `globalTeardown` (test/support/db.ts) then fails the run over a folder
 * or file left in the run's TMPDIR, a schema not dropped, or a process still running with the tag,
 * after removing them.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Pool } from '../../src/db/pool.ts';
import { ident } from '../../src/db/pool.ts';
import { CODEGEN_CACHE_ENV } from '../../codegen/cache.ts';
import { CACHE_DIR_ENV } from '../../src/dev/cluster-template.ts';

const TAG = 'MAGENTO_ASYNC_TEST_RUN';
const SCHEMAS = '.schemas';
/** What a schema's note holds once its test has dropped it (forgetSchema). */
const DROPPED = 'dropped';
/** The run's codegen cache (codegen/cache.ts): a large spec is generated once per run. */
const CODEGEN = '.codegen';
/** The run's store projects made from the packed package (test/support/package.ts): npm runs once per run. */
const PROJECTS = '.projects';
/** magento-async's cache folder (MAGENTO_ASYNC_CACHE_DIR): new embedded clusters copy the run's template. */
const CACHE = '.cache';
/** Node's compile cache for the run (NODE_COMPILE_CACHE; bin/magento-async.js's default folder too). */
const COMPILE_CACHE = 'node-compile-cache';
/** What the run itself keeps in its folder: the above. */
const KEPT = new Set([SCHEMAS, CODEGEN, PROJECTS, CACHE, COMPILE_CACHE]);

/** In the runner, before any test process starts: the run's folder and tag. */
export function startRun(): string {
  const dir = mkdtempSync(join(tmpdir(), 'magento-async-tests-'));
  // Public like a usual temp folder: the embedded PostgreSQL runs as another user when we are root.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, SCHEMAS));
  process.env.TMPDIR = dir;
  process.env[TAG] = basename(dir);
  process.env[CODEGEN_CACHE_ENV] = join(dir, CODEGEN);
  // Not the user's ~/.cache: the run keeps nothing outside its folder.
  process.env[CACHE_DIR_ENV] = join(dir, CACHE);
  // Every test file is a process of its own, and many start more (servers, consumers, the CLI):
  // each would strip and compile the same source tree again. With the cache, only the first does;
  // the rest load the stripped text and V8's code from the run's folder (~0.5 s CPU less for a
  // process that loads the server and the consumer). Per run, so it never outlives a change.
  process.env.NODE_COMPILE_CACHE = join(dir, COMPILE_CACHE);
  return dir;
}

/** Runs `start` with processes it spawns left out of the leftover check (the run's own servers). */
export async function untagged<T>(start: () => Promise<T>): Promise<T> {
  const tag = process.env[TAG];
  delete process.env[TAG];
  try {
    return await start();
  } finally {
    if (tag !== undefined) process.env[TAG] = tag;
  }
}

/** Where the run keeps the store projects it made once, or null outside a run (no global setup). */
export function runProjectsDir(): string | null {
  const tmp = process.env.TMPDIR;
  return process.env[TAG] && tmp ? join(tmp, PROJECTS) : null;
}

function schemasDir(): string | null {
  const tmp = process.env.TMPDIR;
  return process.env[TAG] && tmp && existsSync(join(tmp, SCHEMAS)) ? join(tmp, SCHEMAS) : null;
}

/** A schema this test made (and must drop). */
export function noteSchema(name: string): void {
  const dir = schemasDir();
  if (dir) writeFileSync(join(dir, name), '');
}

/**
 * The test dropped the schema. The note stays: the end of the run looks for it anyway, on a
 * connection of its own, since a drop can be undone after it returned (run on a connection that
 * was in a transaction someone else rolled back, ea318a4).
 */
export function forgetSchema(name: string): void {
  const dir = schemasDir();
  if (dir && existsSync(join(dir, name))) writeFileSync(join(dir, name), DROPPED);
}

/** Processes other than this one started during the run (they carry its tag), still running. */
function taggedProcesses(tag: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${TAG}=${tag}`)) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      // A zombie has exited; only its parent's wait is missing.
      if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'))) continue;
      found.push({ pid, command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Lists what the run left behind and removes it; the run's folder goes too. */
export async function endRun(dir: string, pool: Pool | null): Promise<string[]> {
  const left: string[] = [];
  if (process.platform === 'linux') {
    for (const p of taggedProcesses(basename(dir))) {
      left.push(`process ${p.pid}: ${p.command.slice(0, 160)}`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  // Every schema noted in the run, dropped or not, with the schemas of its plugins' migrations
  // (`<schema>__<plugin>`, src/plugins/migrations.ts): one look at the catalog for all of them.
  const noted = new Map(
    readdirSync(join(dir, SCHEMAS)).map((name) => [name, readFileSync(join(dir, SCHEMAS, name), 'utf8') === DROPPED]),
  );
  const { rows } = (await pool?.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace`).catch(() => null)) ?? {
    rows: [],
  };
  const owner = (nspname: string): string | undefined => {
    if (noted.has(nspname)) return nspname;
    for (let i = nspname.indexOf('__'); i > 0; i = nspname.indexOf('__', i + 1))
      if (noted.has(nspname.slice(0, i))) return nspname.slice(0, i);
    return undefined;
  };
  for (const { nspname } of rows) {
    const schema = owner(nspname);
    if (schema === undefined) continue;
    left.push(`schema ${nspname}${noted.get(schema) ? ' (its test dropped it, yet it is there)' : ''}`);
    await pool?.query(`DROP SCHEMA IF EXISTS ${ident(nspname)} CASCADE`).catch(() => {});
  }
  for (const entry of readdirSync(dir)) if (!KEPT.has(entry)) left.push(`${join(dir, entry)}`);
  rmSync(dir, { recursive: true, force: true });
  return left;
}
