/**
 * The package as `npm pack` makes it (prepack builds dist/), once per content: tests that install
 * it (the journey, the doc tests of the init project) share one tarball in `.cache/package/<digest>`,
 * keyed by the bytes of every file the build reads, so a run packs only after a change. A lock
 * folder keeps test files of one run from packing twice at once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT } from './checkout.ts';
import { waitFor } from './wait.ts';

const INPUTS = [
  'src',
  'codegen',
  'plugins/http-forward',
  'examples',
  'bin',
  'templates',
  'openapi',
  'scripts/build.js',
];

function digest(): string {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...INPUTS], {
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  })
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .sort();
  const hash = createHash('sha256');
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json', ...files]) {
    if (!existsSync(join(PROJECT_ROOT, file))) continue; // deleted in the working tree
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(PROJECT_ROOT, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** npm and the machine's Node first on PATH: what a user's shell has (not this checkout's node_modules/.bin). */
export function machineEnvironment(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter);
  // A test file's process would make a nested `node --test` report to it instead of printing, and
  // an outer `npm test` leaves its own settings (npm_config_local_prefix, …) for a nested npm.
  delete env.NODE_TEST_CONTEXT;
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  for (const key of ['MAGENTO_ASYNC_CONFIG', 'MAGENTO_ASYNC_SPEC', 'MAGENTO_ASYNC_VAR_DIR', 'MAGENTO_ASYNC_SCHEMA'])
    delete env[key];
  return { ...env, ...extra };
}

/** The path of the packed tarball of this checkout (magento-async-<version>.tgz). */
export async function packedTarball(): Promise<string> {
  const dir = join(PROJECT_ROOT, '.cache/package', digest());
  const lock = `${dir}.lock`;
  mkdirSync(join(PROJECT_ROOT, '.cache/package'), { recursive: true });
  const find = () => (existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.tgz')) : undefined);
  // The first test process to need it packs; the others wait for its tarball (or its lock to go).
  const taken = () => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      return false;
    }
  };
  const ready = await waitFor(
    () => (find() ? 'packed' : taken() && 'ours'),
    600_000,
    `${lock} to go (remove it if no test run is packing)`,
    500,
  );
  const found = find();
  if (ready === 'packed' && found) return join(dir, found);
  try {
    const staging = `${dir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    // Node 24 (this process) runs the build; npm itself runs on whatever Node the machine has.
    execFileSync('npm', ['pack', '--pack-destination', staging, '--loglevel=error'], {
      cwd: PROJECT_ROOT,
      env: {
        ...machineEnvironment(),
        PATH: `${join(PROJECT_ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    renameSync(staging, dir);
    return join(dir, find()!);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
