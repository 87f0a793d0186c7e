/**
 * Earlier codegen results, reused: MAGENTO_ASYNC_CODEGEN_CACHE names a folder where each generation
 * is kept under a key of what decides it — the spec's bytes (sha256) and name, and the generator
 * itself (its own source files and the versions of the libraries it emits with). A CI job or a test
 * run sets it so that a large spec (Magento's 2.4.8 admin schema: seconds) is generated once
 * however many commands generate it; without it nothing is kept.
 *
 * A lookup needs only the spec's bytes (codegen/spec-source.ts): a kept generation is reused without
 * parsing or converting the spec, nor loading the emitters and their libraries.
 *
 * An entry is a folder `<key>/`: `generation.json` (routes, diagnostics, the spec's title, and each
 * file's name and byte length) and the files themselves in `files/`, read as they are rather than
 * decoded from one JSON string of megabytes. It is written under a temporary name and renamed into
 * place, so a writer that dies leaves no folder under the key; an entry whose files do not have the
 * recorded lengths (or cannot be read) is not reused but made again.
 *
 * Concurrent generations of one key: the first takes a lock folder (holding its pid) and generates,
 * the others wait for its result, or, once that process is gone without one, generate themselves.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Route } from '../src/routes/types.ts';
import type { Diagnostic } from './types.ts';
import { PROJECT_ROOT } from './spec-record.ts';

export const CODEGEN_CACHE_ENV = 'MAGENTO_ASYNC_CODEGEN_CACHE';

/** What the cache keeps of a generation: everything that does not depend on the output folder. */
export interface Generation {
  routes: Route[];
  /** Loading the spec's and building its route table's first (`routeDiagnostics` of them), then the emitters'. */
  diagnostics: Diagnostic[];
  /** How many of `diagnostics` come from the spec and its route table: what `routes` prints. */
  routeDiagnostics: number;
  /** The spec's `info.title` and `info.version`, which the route table's module names. */
  info: { title: string; version: string };
  /** As generated (text), or as kept in the cache (its bytes: compared and written as they are). */
  files: [name: string, content: string | Buffer][];
}

/** What names a spec in the cache: its bytes' digest and its name (the generated headers carry both). */
export interface SpecKey {
  file: string;
  sha256: string;
}

/** The layout of an entry: another layout is another key, never misread. */
const FORMAT = 2;
const LIBRARIES = ['openapi-typescript', 'typescript', 'ajv', 'ajv-formats', 'swagger2openapi', 'yaml'];
const WAIT_MS = 10 * 60_000;
const POLL_MS = 100;

let fingerprint: string | undefined;

/**
 * The file beside the compiled generator (dist/codegen/) that holds {@link modulesDigest} of the
 * sources it was compiled from, written by the build: the package's generator is the checkout's,
 * so a checkout and the package built from it share cached generations rather than each keying its
 * own copy by its own file names and bytes.
 */
export const SOURCE_DIGEST_FILE = 'source-digest.txt';

/** The generator's modules in `dir` (its .ts or .js files, names and bytes), as one digest. */
export function modulesDigest(dir: string): string {
  const hash = createHash('sha256');
  const modules = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.(ts|js)$/.test(f)).sort();
  for (const file of modules) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
}

/**
 * The generator's own identity: its modules (`dir`: codegen/ in a checkout; in the published
 * package, the digest of the sources it was compiled from, recorded beside them) and the versions
 * of its libraries as `projectRoot` resolves them. Another generator is another key: a generation
 * is never reused by a codegen that would write something else.
 */
export function generatorFingerprint(dir: string, projectRoot: string): string {
  const hash = createHash('sha256');
  const recorded = join(dir, SOURCE_DIGEST_FILE);
  hash.update(existsSync(recorded) ? readFileSync(recorded, 'utf8').trim() : modulesDigest(dir));
  const require = createRequire(join(projectRoot, 'package.json'));
  for (const name of LIBRARIES) {
    try {
      hash.update(`${name}@${(require(`${name}/package.json`) as { version: string }).version}`);
    } catch {
      hash.update(`${name}@?`);
    }
  }
  return hash.digest('hex');
}

/** The entry's key of `spec` made by the generator `generator` (a fingerprint). */
export function cacheKey(spec: SpecKey, generator: string): string {
  return createHash('sha256')
    .update(JSON.stringify([FORMAT, spec.sha256, spec.file, generator]))
    .digest('hex')
    .slice(0, 32);
}

/** The folder of `spec`'s entry, or null when no cache is set (or the generator cannot be named). */
function entryDir(spec: SpecKey): string | null {
  const root = process.env[CODEGEN_CACHE_ENV];
  if (!root) return null;
  try {
    fingerprint ??= generatorFingerprint(import.meta.dirname, PROJECT_ROOT);
    return join(root, cacheKey(spec, fingerprint));
  } catch {
    return null; // Nothing to key the generator by: never reuse what might be stale.
  }
}

interface Recorded extends Omit<Generation, 'files'> {
  files: { name: string; bytes: number }[];
}

/** The generation kept in `dir`, or null when there is none or it is not whole. */
function read(dir: string): Generation | null {
  try {
    const recorded = JSON.parse(readFileSync(join(dir, 'generation.json'), 'utf8')) as Recorded;
    const files: Generation['files'] = [];
    for (const { name, bytes } of recorded.files) {
      const content = readFileSync(join(dir, 'files', name));
      if (content.length !== bytes) return null;
      files.push([name, content]);
    }
    return { ...recorded, files };
  } catch {
    return null;
  }
}

/** Keeps `generation` in `dir`: written beside it, renamed into place (replacing one not whole). */
function write(dir: string, generation: Generation): void {
  const temp = `${dir}.${process.pid}`;
  try {
    rmSync(temp, { recursive: true, force: true });
    mkdirSync(join(temp, 'files'), { recursive: true });
    for (const [name, content] of generation.files) writeFileSync(join(temp, 'files', name), content);
    const recorded: Recorded = {
      ...generation,
      files: generation.files.map(([name, content]) => ({ name, bytes: Buffer.byteLength(content) })),
    };
    writeFileSync(join(temp, 'generation.json'), JSON.stringify(recorded));
    if (existsSync(dir) && read(dir) === null) rmSync(dir, { recursive: true, force: true });
    renameSync(temp, dir);
  } catch {
    // Another process kept it first, or the folder cannot be written: the generation stands anyway.
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * Takes the lock folder `lock`: made whole beside it (with this process's pid) and renamed into
 * place, which fails when another process holds it, so a lock folder always names its owner.
 */
function takeLock(lock: string): boolean {
  const temp = `${lock}.${process.pid}`;
  try {
    mkdirSync(temp, { recursive: true });
    writeFileSync(join(temp, 'pid'), String(process.pid));
    renameSync(temp, lock);
    return true;
  } catch {
    rmSync(temp, { recursive: true, force: true });
    return false;
  }
}

/** Whether the process that holds the lock folder `lock` has ended (killed while generating, say). */
function ownerGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return false; // released meanwhile: the caller looks for the entry
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The kept generation of `spec`, if the cache is set and holds it whole; never makes one. */
export function findGeneration(spec: SpecKey): Generation | null {
  const dir = entryDir(spec);
  return dir && existsSync(dir) ? read(dir) : null;
}

/** `make()`'s generation of `spec`, from the cache when one is set and holds it. */
export async function cachedGeneration(spec: SpecKey, make: () => Promise<Generation>): Promise<Generation> {
  const dir = entryDir(spec);
  if (!dir) return make();
  const kept = existsSync(dir) ? read(dir) : null;
  if (kept) return kept;
  mkdirSync(join(dir, '..'), { recursive: true });
  const lock = `${dir}.lock`;
  if (!takeLock(lock)) {
    // Another process is generating it: wait for its result rather than doing the same work.
    for (const until = Date.now() + WAIT_MS; Date.now() < until && existsSync(lock) && !existsSync(dir);) {
      if (ownerGone(lock)) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const made = existsSync(dir) ? read(dir) : null;
    if (made) return made;
    const generation = await make();
    write(dir, generation);
    return generation;
  }
  try {
    const generation = await make();
    write(dir, generation);
    return generation;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
