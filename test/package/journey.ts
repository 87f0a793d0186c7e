/**
 * Done when (issue 22): the package as a user gets it, on a given Node. `npm pack` of this checkout;
 * a fresh folder outside it; the integrator's project made (by `npm create magento-async`, or by
 * installing the tarball and `magento-async init`); the project's own plugin (plugins/acme-carts:
 * PostV1CartsQuoteIdItems); codegen on the Magento 2.4.8 admin spec, with no stub for what an
 * enabled plugin implements; the project's kit test; a plugin package that depends on magento-async
 * as a peer passes its own kit test, is packed and installed into the project; the server started
 * (embedded PostgreSQL) warns about nothing, accepts an operation for each plugin with 202 and
 * `bulk:status` reads them final, and an operation only a stub has fails naming the stub's file.
 * All along, this checkout's tree is left as it was (`git status`): the user's work lives in the
 * project, never in the framework. The test files beside this one run it with the machine's Node,
 * with this project's and with the engines floor.
 *
 * What npm installs is the same whichever Node runs the journey, and installing it is most of the
 * journey's cost: only the machine's Node makes its project from nothing (`npm create`, `npm
 * install`); the others take a copy of the run's store project (`npm install <tarball>` + `npx
 * magento-async init .`, made once per run with this project's Node: test/support/package.ts
 * freshProject) and run `init` themselves into an empty folder. The plugin package is installed
 * and packed once per run too (pluginPackage): each journey runs its kit test with its own Node and
 * installs its tarball into its project.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
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
import type { TestContext } from 'node:test';
import { freePort } from '../../src/dev/embedded.ts';
import { PROJECT_ROOT } from '../support/checkout.ts';
import {
  freshProject,
  linkModules,
  OFFLINE_INSTALL,
  packedTarball,
  pluginPackage,
  QUIET_INSTALL,
  seedProjectNode,
} from '../support/package.ts';
import { runCli, startCli, type CliProcess } from '../support/processes.ts';
import { SHARED_SPECS } from '../support/specs.ts';

export const SPEC = join(SHARED_SPECS, 'adobedocs-admin-schema-2.4.8.json');
const FIXTURE = join(import.meta.dirname, 'fixtures/acme-stock');
// The project's own plugins, copied into it as a user would write them.
const PROJECT_PLUGINS = join(import.meta.dirname, 'fixtures/project/plugins');
const CREATE = join(PROJECT_ROOT, 'packages/create-magento-async');
export const INSTALL = QUIET_INSTALL;
const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** This checkout's working tree as git sees it: one line per changed or untracked (not ignored) file. */
const treeState = () =>
  execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
/**
 * What appeared in `git status` since `before` that a user's work could have made: any new file,
 * any change in the framework's generated sample or plugins folder. (A developer editing a tracked
 * source file while the suite runs is not the user's doing: on a clean clone, as in CI, nothing
 * may appear at all.)
 */
const userWorkSince = (before: string[]) =>
  treeState().filter(
    (line) => !before.includes(line) && (line.startsWith('??') || /^.. (src\/generated|plugins)\//.test(line)),
  );

type Env = Record<string, string | undefined>;
type Command = [command: string, args: string[]];

export interface JourneyNode {
  /** The user's shell: its PATH says which `node` (and so which Node npm runs on) comes first. */
  env: Env;
  /** The version `node` has in that shell. */
  node: string;
  /**
   * How the user runs the package's commands and tests in a project: `npx magento-async …`,
   * `npm test` and `npm start` (which run the project's Node, the `node` dependency), or `node`
   * itself, so that the shell's Node runs the package.
   */
  via: 'npm' | 'node';
  /**
   * How the project is made: `npm create magento-async` then `npm install`, in the journey's own
   * folder; or a copy of the run's store project (`npm install <tarball>` + `init`, made once per
   * run), with an `init --no-install` of the journey's own beside it.
   */
  project: 'create' | 'shared';
}

/**
 * The folders of npm exec's cache `npx` (`<cache>/_npx`) that hold an install of a file in the
 * folder `journeyDir` (named uniquely, by mkdtemp): an install's package.json names its `file:`
 * dependencies (relative) and the specs it was made for (`_npx.packages`, absolute).
 */
function npxInstallsOf(npx: string, journeyDir: string): string[] {
  if (!existsSync(npx)) return [];
  return readdirSync(npx)
    .map((entry) => join(npx, entry))
    .filter((dir) => {
      try {
        return readFileSync(join(dir, 'package.json'), 'utf8').includes(`/${basename(journeyDir)}/`);
      } catch {
        return false;
      }
    });
}

/**
 * The folder of npm exec's cache `npx` that `npm exec --package=<spec>…` installs the packages
 * `specs` into: named by the sha512 of the specs as given, sorted, one a line (npm's libnpmexec;
 * only a directory spec is resolved first). The journey checks npm installed there.
 */
function npxFolder(npx: string, specs: string[]): string {
  const sorted = [...specs].sort((a, b) => a.localeCompare(b, 'en'));
  return join(npx, createHash('sha512').update(sorted.join('\n')).digest('hex').slice(0, 16));
}

export async function run(cwd: string, [command, args]: Command, env: Env) {
  const result = await runCli(command, args, { cwd, env, timeoutMs: 300_000 });
  assert.equal(result.code, 0, `${command} ${args.join(' ')} in ${cwd}\n${result.stdout}\n${result.stderr}`);
  return result;
}

export async function journey(t: TestContext, user: JourneyNode): Promise<void> {
  const tree = treeState();
  const tarball = await packedTarball();
  const root = mkdtempSync(join(tmpdir(), 'magento-async-journey-'));
  // Public like a usual folder: embedded PostgreSQL runs as another user when the test is root.
  chmodSync(root, 0o755);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.ok(!root.startsWith(PROJECT_ROOT), 'outside the repository');
  const database = { DATABASE_URL: process.env.DATABASE_URL };
  const { env } = user;
  assert.equal((await run(root, ['node', ['--version']], env)).stdout.trim(), `v${user.node}`, 'the Node of the shell');

  const shop = join(root, 'shop');
  const bin = join(shop, 'node_modules/.bin/magento-async');
  // Through npm: the first run of each command is `npx magento-async <command>`, as the user types
  // it; a later one runs the bin npx ran (the project's, on the shell's Node), without npx's own
  // start-up (0.8 s CPU each; bulk:status runs four times).
  const viaNpx = new Set<string>();
  const magento = (...args: string[]): Command => {
    if (user.via === 'node') return ['node', [bin, ...args]];
    if (viaNpx.has(args[0]!)) return [bin, args];
    viaNpx.add(args[0]!);
    return ['npx', ['magento-async', ...args]];
  };
  const kitTest = (): Command => (user.via === 'npm' ? ['npm', ['test']] : ['node', ['--test']]);

  if (user.project === 'create') {
    // `npm create magento-async shop` is npm exec of create-magento-async: here from its tarball,
    // with magento-async's (a registry would serve both), then the project's install from the tarball.
    const packs = join(root, 'packs');
    mkdirSync(packs);
    execFileSync('npm', ['pack', CREATE, '--pack-destination', packs, '--loglevel=error'], { env, stdio: 'ignore' });
    const create = join(packs, readdirSync(packs)[0]!);
    // npm exec installs what it runs into npm's cache (<cache>/_npx/<digest of the specs>), kept for
    // the next exec of the same specs: this journey's tarball paths are new each run, so each run
    // would leave its own ~300 MB there. The journey removes what it made, even when it fails.
    const npx = join(execFileSync('npm', ['config', 'get', 'cache'], { env, encoding: 'utf8' }).trim(), '_npx');
    const execsOfThisJourney = () => npxInstallsOf(npx, root);
    t.after(() => execsOfThisJourney().forEach((dir) => rmSync(dir, { recursive: true, force: true })));
    // The folder npm exec installs these two into starts with the `node` dependency as this checkout
    // installed it (test/support/package.ts seedProjectNode says why that is the same package, and
    // what npm still does): npm installs create-magento-async, magento-async and every other
    // package from the tarballs and npm's cache, and keeps `node`, whose install script would
    // otherwise unpack Node's 189 MB again (7.5 s CPU).
    const execFolder = npxFolder(npx, [create, tarball]);
    t.after(() => rmSync(execFolder, { recursive: true, force: true }));
    const seeded = seedProjectNode(execFolder);
    const made = await run(
      root,
      [
        'npm',
        [
          'exec',
          '--yes',
          `--package=${create}`,
          `--package=${tarball}`,
          ...INSTALL,
          '--',
          'create-magento-async',
          'shop',
          '--no-install',
        ],
      ],
      env,
    );
    assert.match(made.stdout, /Created a magento-async project in shop/);
    const installs = execsOfThisJourney();
    assert.equal(installs.length, 1, `npm exec's install of create-magento-async in ${npx}`);
    if (seeded)
      assert.equal(
        installs[0],
        execFolder,
        "npm exec installed elsewhere than npxFolder says: npm's naming of its exec folders changed",
      );
    // npm exec installed magento-async and its dependencies, on this Node (the bin ran
    // create-magento-async's init with it): the project's own install starts from those files,
    // hard-linked without npm's hidden lockfile, as the plugin package's does (test/support/
    // package.ts). npm still makes the project's tree from its package.json (create-magento-async
    // goes, magento-async is the tarball's) but unpacks nothing it finds.
    linkModules(installs[0]!, shop);
    rmSync(installs[0]!, { recursive: true, force: true });
    assert.deepEqual(execsOfThisJourney(), [], `left in ${npx}`);
    await run(shop, ['npm', ['install', tarball, ...INSTALL]], env);
    assert.ok(!existsSync(join(shop, 'node_modules/create-magento-async')), "npm install kept npm exec's package");
  } else {
    await freshProject(shop);
    // init itself on this Node: the project's files, in a folder of its own (npm install aside).
    const mine = join(root, 'mine');
    const made = await run(shop, magento('init', '../mine', '--no-install'), env);
    assert.match(made.stdout, /Created a magento-async project in \.\.\/mine/);
    const manifest = JSON.parse(readFileSync(join(mine, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    assert.equal(manifest.dependencies['magento-async'], `^${VERSION}`);
    assert.equal(manifest.scripts.test, 'node --test');
    for (const file of [
      'magento-async.config.json',
      'plugins/pages/index.ts',
      'plugins/pages/index.test.ts',
      '.gitignore',
    ])
      assert.ok(existsSync(join(mine, file)), file);
  }
  // The shell's Node starts the bin; an older one than `engines` reruns it with the package's Node.
  const version = await run(shop, ['node', [bin, '--version']], env);
  assert.equal(version.stdout.trim(), VERSION);

  // The extension author: a package with magento-async as a peer, tested with the kit, then packed
  // (installed and packed once per run: pluginPackage), its kit test run on this Node.
  const author = await pluginPackage(FIXTURE, root);
  const tested = await run(author.dir, kitTest(), { ...env, ...database });
  assert.match(tested.stdout, /pass 2/, tested.stdout);
  // Everything it needs is in the project already: no registry, no cache (OFFLINE_INSTALL).
  await run(shop, ['npm', ['install', author.tarball, ...OFFLINE_INSTALL]], env);
  const configFile = join(shop, 'magento-async.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, pluginPackages: ['acme-stock'] }, null, 2));

  // The project's own plugin, written before codegen (its types come from what codegen writes).
  cpSync(PROJECT_PLUGINS, join(shop, 'plugins'), { recursive: true });

  // Codegen on the store's spec: stubs only for operations no enabled plugin implements (the
  // project's pages and acme-carts, the acme-stock package).
  const generated = await run(shop, magento('codegen', '--spec', SPEC), env);
  assert.match(
    generated.stdout,
    /^347 routes from adobedocs-admin-schema-2\.4\.8\.json: \d+ files written, 0 unchanged, \d+ stubs created/m,
  );
  // The spec lies outside the project: recorded by its absolute path, the project's spec from now on.
  assert.equal(
    (JSON.parse(readFileSync(join(shop, 'generated/spec.json'), 'utf8')) as { source: string }).source,
    SPEC,
  );
  // What serve and the consumers load is JavaScript; the TypeScript beside it is types only.
  for (const file of ['routes.gen.js', 'validators.gen.js', 'handlers.gen.ts', 'types.gen.ts'])
    assert.ok(existsSync(join(shop, 'generated', file)), file);
  const stubs = readdirSync(join(shop, 'plugins')).filter((d) => d !== 'pages' && d !== 'acme-carts');
  assert.ok(stubs.length > 40, `stub folders: ${stubs.join(', ')}`);
  assert.ok(stubs.includes('carts'), 'the other carts operations get stubs');
  for (const dir of stubs) {
    const text = readFileSync(join(shop, 'plugins', dir, 'index.ts'), 'utf8');
    assert.doesNotMatch(text, /\b(PostV1CmsPage|PutV1ProductsSku|PostV1CartsQuoteIdItems):/, `plugins/${dir}/index.ts`);
    assert.match(text, /from 'magento-async\/plugin'/);
  }
  const kit = await run(shop, kitTest(), { ...env, ...database });
  assert.match(kit.stdout, /pass 2/, kit.stdout);

  // The project's server: an embedded PostgreSQL in ./var, the server and a consumer.
  const port = await freePort();
  const [command, args] = user.via === 'npm' ? ['npm', ['start']] : magento('start');
  const started: CliProcess = startCli(command, args, { cwd: shop, env: { ...env, PORT: String(port) } });
  t.after(() => started.stop('SIGKILL'));
  await started.waitFor(/magento-async is running at \S+ \(347 routes/, 300_000);
  await started.waitFor(/Token \(/);
  // Nothing to fix: no stub beside a real handler, no conflict, no spec to regenerate.
  assert.doesNotMatch(
    started.stdout() + started.stderr(),
    /delete its entry|stub never runs|changed since the last codegen/,
  );
  const token = readFileSync(join(shop, 'var/dev-token'), 'utf8').trim();
  const send = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port}/rest/default/async/V1/${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { bulk_uuid: string }).bulk_uuid;
  };
  const page = await send('POST', 'cmsPage', { page: { identifier: 'journey', title: 'Journey' } });
  const price = await send('PUT', 'products/J-1', { product: { price: 5 } });
  const item = await send('POST', 'carts/Q1/items', { cartItem: { sku: 'J-1', qty: 2, quote_id: 'Q1' } });
  for (const uuid of [page, price, item]) {
    const status = await run(shop, magento('bulk:status', uuid, '--watch', '--interval', '200'), env);
    assert.match(status.stdout, /Finished Successfully/, status.stdout);
  }
  // Only in the 2.4.8 spec, and only its stub has it: a final failure naming the file to edit.
  const media = await send('DELETE', 'products/J-1/media/7');
  const [watch, watchArgs] = magento('bulk:status', media, '--watch', '--interval', '200');
  const failed = await runCli(watch, watchArgs, { cwd: shop, env });
  assert.equal(failed.code, 1, failed.stdout + failed.stderr);
  assert.match(failed.stdout, /Finished with Failure \(bulk_status 3\)/, failed.stdout);
  const detail = await fetch(`http://127.0.0.1:${port}/rest/V1/bulk/${media}/detailed-status`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const operation = ((await detail.json()) as { operations_list: { result_message: string }[] }).operations_list[0];
  assert.match(
    operation!.result_message,
    /DeleteV1ProductsSkuMediaEntryId is not implemented yet: edit plugins\/products\/index\.ts/,
  );
  await started.stop('SIGINT');
  assert.deepEqual(userWorkSince(tree), [], "the user's work in their project changed this checkout's tree");
}
