/**
 * The package as `npm pack` makes it (prepack builds dist/), once per content: tests that install
 * it (the journey, the doc tests of the init project) share one tarball in `.cache/package/<digest>`,
 * keyed by the bytes of every file the build reads, so a run packs only after a change. A lock
 * folder keeps test files of one run from packing twice at once. The doc tests' store projects are
 * made from it once per run too (`freshProject`).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative } from 'node:path';
import { PROJECT_ROOT } from './checkout.ts';
import { runProjectsDir } from './leftovers.ts';
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
  'scripts/bundle-cli.js',
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

/**
 * Makes the folder `dir` once: the first test process to need it builds it in a staging folder
 * beside it, renamed into place when complete; the others wait for it (or for its lock to go).
 */
async function once(dir: string, what: string, build: (staging: string) => void): Promise<void> {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(dir), { recursive: true });
  const taken = () => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      return false;
    }
  };
  const ready = await waitFor(
    () => (existsSync(dir) ? 'made' : taken() && 'ours'),
    600_000,
    `${lock} to go (remove it if no test run is ${what})`,
    500,
  );
  if (ready === 'made') return;
  try {
    // Made by another process between its check and our lock.
    if (existsSync(dir)) return;
    const staging = `${dir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    build(staging);
    renameSync(staging, dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The path of the packed tarball of this checkout (magento-async-<version>.tgz). */
export async function packedTarball(): Promise<string> {
  const dir = join(PROJECT_ROOT, '.cache/package', digest());
  await once(dir, 'packing', (staging) => {
    // Node 24 (this process) runs the build; npm itself runs on whatever Node the machine has.
    execFileSync('npm', ['pack', '--pack-destination', staging, '--loglevel=error'], {
      cwd: PROJECT_ROOT,
      env: {
        ...machineEnvironment(),
        PATH: `${join(PROJECT_ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH}`,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  });
  return join(
    dir,
    readdirSync(dir).find((f) => f.endsWith('.tgz'))!,
  );
}

/** npm's flags for installing what npm's cache has (a CI machine's `npm ci` filled it) without asking the registry again. */
export const QUIET_INSTALL = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/** `npm install <tarball>` in the empty folder `dir`, `magento-async init . --no-install`, `npm install`. */
function initProject(dir: string, tarball: string): void {
  const env = machineEnvironment();
  mkdirSync(dir);
  execFileSync('npm', ['install', tarball, ...QUIET_INSTALL], { cwd: dir, env, stdio: 'pipe' });
  execFileSync('npx', ['magento-async', 'init', '.', '--no-install'], { cwd: dir, env, stdio: 'pipe' });
  execFileSync('npm', ['install', ...QUIET_INSTALL], { cwd: dir, env, stdio: 'pipe' });
}

/**
 * A fresh store project at `dir` (a folder that does not exist yet), as a user makes one from the
 * packed package with the machine's npm (`initProject`). npm runs once per run and package: the
 * project is made in the run's folder (test/support/leftovers.ts) and each caller gets a copy, in
 * which the `file:` reference npm recorded to the tarball, relative to the project, is made
 * relative to the copy.
 */
export async function freshProject(dir: string): Promise<void> {
  const tarball = await packedTarball();
  const projects = runProjectsDir();
  if (!projects) return initProject(dir, tarball);
  const made = join(projects, basename(dirname(tarball)));
  await once(made, 'installing a store project', (staging) => initProject(join(staging, 'project'), tarball));
  const original = join(made, 'project');
  execFileSync('cp', ['-a', original, dir]);
  const [from, to] = [relative(`${made}.staging/project`, tarball), relative(dir, tarball)];
  if (from === to) return;
  for (const file of ['package.json', 'package-lock.json', 'node_modules/.package-lock.json']) {
    const path = join(dir, file);
    if (existsSync(path)) writeFileSync(path, readFileSync(path, 'utf8').replaceAll(`file:${from}`, `file:${to}`));
  }
}
