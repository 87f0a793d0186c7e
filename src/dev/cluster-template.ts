/**
 * A fresh embedded PostgreSQL cluster is a copy of a template, not a new `initdb`: `initdb` costs
 * 0.7–1.0 s of CPU here (a bootstrap backend, then a single-user one that builds the catalogs and
 * three databases), a copy of its result (~1,000 files, 39 MB) with a password of its own
 * 0.15–0.35 s (as root on a loaded 2-core machine). The first cluster made with a given template
 * key (below) runs `initdb` and keeps its result in the user's cache folder
 * (`MAGENTO_ASYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/magento-async`, else `~/.cache/magento-async`),
 * under `postgres-templates/<key>`; later ones copy it, then get their own password (and, when
 * started, their own port and settings, as a cluster made by `initdb` does).
 *
 * The key is everything that makes two `initdb` results differ: the binaries (their package's name
 * and version, the server binary's size and time), `initdb`'s options (encoding and locale among
 * them: C and UTF8, whatever the user's locale), the user that runs it (the files' owner), the
 * time zone (`initdb` writes the one it detects into postgresql.conf) and {@link TEMPLATE_FORMAT},
 * raised when this code changes what a template holds, so a template made by older code is never
 * used. Not the machine: `initdb` also writes what it probed of it (shared_buffers 128MB, dynamic
 * shared memory posix, where PostgreSQL's defaults work), so a cache folder shared by machines
 * that differ there (a home folder on NFS) would hand one machine's choice to the other.
 *
 * A template is written in a staging folder, synced to disk, then renamed into place: a crash or a
 * full disk never leaves a half template under its key. A template that fails to produce a cluster
 * is removed, and `initdb` runs instead. A failure to keep a template only costs the next cluster
 * an `initdb`; the cache folder may be deleted at any time.
 *
 * What copies share: the system identifier (pg_control), which only tells physical replicas and
 * backup tools which cluster they follow. Every cluster here is a single independent development
 * server, and nothing in magento-async reads it. The superuser's password is the template's
 * throwaway one until the copy gets its own (src/dev/embedded.ts), before it is renamed into place.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

/** Raised whenever a template made by this code would differ from one made by the code before. */
export const TEMPLATE_FORMAT = 1;
export const CACHE_DIR_ENV = 'MAGENTO_ASYNC_CACHE_DIR';
const TEMPLATES = 'postgres-templates';
const META = 'template.json';
const DATA = 'data';

export interface Owner {
  uid?: number;
  gid?: number;
}

/** magento-async's cache folder for this user. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env[CACHE_DIR_ENV]) return resolve(env[CACHE_DIR_ENV]);
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec: a relative value is invalid and must be ignored.
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'magento-async');
}

/** The binaries' identity: their npm package's name and version, and the server binary itself. */
function binariesIdentity(postgres: string): { version: string; identity: string } {
  const st = statSync(postgres);
  const binary = `postgres ${st.size} ${Math.trunc(st.mtimeMs)}`;
  // The platform packages lay out <package>/native/bin/postgres.
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(postgres), '../../package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    return { version: pkg.version, identity: `${pkg.name}@${pkg.version} ${binary}` };
  } catch {
    return { version: 'unknown', identity: `${postgres} ${binary}` };
  }
}

/**
 * What `initdb` detects the time zone from: `TZ`, else the C library's `/etc/localtime` (PostgreSQL
 * reads its link target, else matches its behaviour against its own zone files). Read from there,
 * not from `Intl`, whose first use loads ICU's zone data: about 22 ms of CPU at every embedded
 * start. Where there is no such file (Windows), `Intl`'s answer.
 */
function timeZoneIdentity(): string {
  const tz = `TZ ${process.env.TZ ?? ''}`;
  try {
    const bytes = readFileSync('/etc/localtime');
    let link = '';
    try {
      link = readlinkSync('/etc/localtime');
    } catch {
      // a copy of a zone file rather than a link: its bytes say which
    }
    return `${tz} /etc/localtime ${link} ${createHash('sha256').update(bytes).digest('hex')}`;
  } catch {
    return `${tz} ${Intl.DateTimeFormat().resolvedOptions().timeZone}`;
  }
}

/** The template key of clusters `initdb` makes with these binaries, options and owner. */
export function templateKey(postgres: string, initdbOptions: string[], owner: Owner): string {
  const { version, identity } = binariesIdentity(postgres);
  const parts = [
    `format ${TEMPLATE_FORMAT}`,
    identity,
    `initdb ${initdbOptions.join(' ')}`,
    `uid ${owner.uid ?? process.getuid?.() ?? ''}`,
    timeZoneIdentity(),
  ];
  const digest = createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
  return `${version.replace(/[^\w.-]/g, '_')}-${digest}`;
}

/** The kept cluster of `key`, or null when there is none (yet). */
export function findTemplate(key: string): string | null {
  try {
    const dir = join(cacheDir(), TEMPLATES, key);
    // The metadata is written before the rename that publishes the folder: its absence means a
    // folder that is being deleted, not a template.
    return existsSync(join(dir, META)) && existsSync(join(dir, DATA, 'global/pg_control')) ? join(dir, DATA) : null;
  } catch {
    return null; // no home folder to find a cache in: initdb, as without a template
  }
}

/** Removes a template that failed to produce a cluster. */
export function dropTemplate(key: string): void {
  const dir = join(cacheDir(), TEMPLATES, key);
  // Unpublished first (a rename), so no one copies a half-deleted template.
  const doomed = stagingPath(dir, 'dropped');
  try {
    renameSync(dir, doomed);
  } catch {
    return;
  }
  rmSync(doomed, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the staging folders (`.<name>.<what>-<pid>-<random>`) in `dir` that a process now gone
 * left when it was killed mid-write; a live process's is its own business.
 */
export function removeAbandoned(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = /^\..+\.(?:creating|staging|dropped)-(\d+)-[0-9a-f]+$/.exec(entry)?.[1];
    if (pid && !isAlive(Number(pid))) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/** A staging folder's name beside `target`, recognisable by {@link removeAbandoned}. */
export function stagingPath(target: string, what: 'creating' | 'staging' | 'dropped'): string {
  return join(dirname(target), `.${basename(target)}.${what}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Copies a cluster's folder to `to` (absent): modes as they are (PostgreSQL wants 0700 folders and
 * 0600 files), owned by `owner` when given (as root, the `postgres` user). With the system's
 * `cp -a` where there is one: it costs half the CPU of Node's file-by-file copy (0.07–0.18 s
 * against 0.27–0.37 s for a fresh cluster's ~1,000 files and 39 MB, measured here).
 */
export async function copyCluster(from: string, to: string, owner: Owner): Promise<void> {
  if (process.platform === 'win32' || !(await systemCopy(from, to))) {
    rmSync(to, { recursive: true, force: true });
    copyTree(from, to);
  }
  // `cp -a` as root keeps the template's owner, which is the owner's already (the key has its uid):
  // only a copy that did not (Node's, made by root) is handed over, ~1,000 chown calls.
  const st = statSync(to);
  if (owner.uid !== undefined && (st.uid !== owner.uid || st.gid !== owner.gid)) chownTree(to, owner.uid, owner.gid!);
}

function systemCopy(from: string, to: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const child = spawn('cp', ['-a', from, to], { stdio: 'ignore' });
    child.on('error', () => resolvePromise(false)); // no `cp`
    child.on('close', (code) => resolvePromise(code === 0));
  });
}

/**
 * Node's copy. Regular files and folders only: a fresh cluster has nothing else, and a symbolic
 * link here would be a table space of someone else's.
 */
export function copyTree(from: string, to: string): void {
  const st = lstatSync(from);
  if (st.isDirectory()) {
    mkdirSync(to, { mode: 0o700 });
    for (const entry of readdirSync(from)) copyTree(join(from, entry), join(to, entry));
    chmodSync(to, st.mode & 0o7777);
  } else if (st.isFile()) {
    // A clone where the file system can (btrfs, XFS), else an in-kernel copy; the mode is the source's.
    copyFileSync(from, to, constants.COPYFILE_FICLONE);
  } else {
    throw new Error(`${from}: not a file or folder; a PostgreSQL template has only those`);
  }
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) chownTree(join(dir, entry.name), uid, gid);
    else lchownSync(join(dir, entry.name), uid, gid);
  }
}

/**
 * Flushes every file and folder under `dir` to disk, as `initdb` does with what it made. Not on
 * Windows, which flushes a file only through a handle open for writing and a folder not at all.
 */
export function syncTree(dir: string): void {
  if (process.platform === 'win32') return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) syncTree(path);
    else syncPath(path);
  }
  syncPath(dir);
}

export function syncPath(path: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Keeps the cluster `initdb` just made in `dataDir` (not started yet, password still the throwaway
 * one) as the template of `key`. Returns where, or throws; the caller only logs a failure.
 */
export async function keepTemplate(key: string, dataDir: string, details: Record<string, unknown>): Promise<string> {
  const root = join(cacheDir(), TEMPLATES);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  removeAbandoned(root);
  const target = join(root, key);
  const staging = stagingPath(target, 'staging');
  try {
    mkdirSync(staging, { mode: 0o700 });
    await copyCluster(dataDir, join(staging, DATA), {});
    const meta = { format: TEMPLATE_FORMAT, key, madeAt: new Date().toISOString(), ...details };
    writeFileSync(join(staging, META), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    syncTree(staging);
    try {
      renameSync(staging, target);
    } catch (error) {
      // Another process kept the same template meanwhile: it is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && findTemplate(key)) return target;
      throw error;
    }
    syncPath(root);
    return target;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677, the `pg_authid.rolpassword`
 * format), so that the password itself never reaches the server or its logs. `password` must be
 * ASCII without control characters (SASLprep is then the identity): ours are base64url.
 */
export function scramVerifier(password: string, iterations = 4096): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('scramVerifier: printable ASCII passwords only');
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const b64 = (b: Buffer) => b.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}
