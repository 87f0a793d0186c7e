/**
 * Earlier codegen results, reused: MAGENTO_ASYNC_CODEGEN_CACHE names a folder where each generation
 * is kept under a key of what decides it — the spec's bytes (sha256) and name, and the generator
 * itself (its own source files and the versions of the libraries it emits with). A CI job or a test
 * run sets it so that a large spec (Magento's 2.4.8 admin schema: tens of seconds) is generated once
 * however many commands generate it; without it nothing is kept.
 *
 * Concurrent generations of one key: the first takes a lock folder and generates, the others wait
 * for its result (or, should it die, generate themselves).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Route } from '../src/routes/types.ts';
import type { LoadedSpec } from './load-spec.ts';
import type { Diagnostic } from './types.ts';
import { PROJECT_ROOT } from './spec-record.ts';

export const CODEGEN_CACHE_ENV = 'MAGENTO_ASYNC_CODEGEN_CACHE';

/** What the cache keeps of a generation: everything that does not depend on the output folder. */
export interface Generation {
  routes: Route[];
  diagnostics: Diagnostic[];
  files: [name: string, content: string][];
}

const LIBRARIES = ['openapi-typescript', 'typescript', 'ajv', 'ajv-formats', 'swagger2openapi', 'yaml'];
const WAIT_MS = 10 * 60_000;

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
 * The generator's own identity: its modules (this folder: codegen/ in a checkout; in the published
 * package, the digest of the sources it was compiled from) and its libraries' versions.
 */
function generatorFingerprint(): string {
  if (fingerprint) return fingerprint;
  const hash = createHash('sha256');
  const dir = import.meta.dirname;
  const recorded = join(dir, SOURCE_DIGEST_FILE);
  hash.update(existsSync(recorded) ? readFileSync(recorded, 'utf8').trim() : modulesDigest(dir));
  const require = createRequire(join(PROJECT_ROOT, 'package.json'));
  for (const name of LIBRARIES) {
    try {
      hash.update(`${name}@${(require(`${name}/package.json`) as { version: string }).version}`);
    } catch {
      hash.update(`${name}@?`);
    }
  }
  return (fingerprint = hash.digest('hex'));
}

function read(dir: string): Generation {
  return JSON.parse(readFileSync(join(dir, 'generation.json'), 'utf8')) as Generation;
}

/** `make()`'s generation of `spec`, from the cache when one is set and holds it. */
export async function cachedGeneration(spec: LoadedSpec, make: () => Promise<Generation>): Promise<Generation> {
  const root = process.env[CODEGEN_CACHE_ENV];
  if (!root) return make();
  let generator: string;
  try {
    generator = generatorFingerprint();
  } catch {
    return make(); // Nothing to key the generator by: never reuse what might be stale.
  }
  const key = createHash('sha256')
    .update(JSON.stringify([spec.sha256, spec.file, generator]))
    .digest('hex')
    .slice(0, 32);
  const dir = join(root, key);
  if (existsSync(dir)) return read(dir);
  mkdirSync(root, { recursive: true });
  const lock = `${dir}.lock`;
  try {
    mkdirSync(lock);
  } catch {
    // Another process is generating it: wait for its result rather than doing the same work.
    for (const until = Date.now() + WAIT_MS; Date.now() < until && existsSync(lock) && !existsSync(dir);) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (existsSync(dir)) return read(dir);
    return make();
  }
  try {
    const generation = await make();
    const temp = `${dir}.${process.pid}`;
    mkdirSync(temp, { recursive: true });
    writeFileSync(join(temp, 'generation.json'), JSON.stringify(generation));
    renameSync(temp, dir);
    return generation;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
