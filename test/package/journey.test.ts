/**
 * Done when (issue 22): the package as a user gets it. `npm pack` of this checkout; a fresh folder
 * outside it; the tarball installed by npm on the machine's own Node; `magento-async init`; codegen
 * on the Magento 2.4.8 admin spec; the project's kit test; a plugin package that depends on
 * magento-async as a peer passes its own kit test, is packed and installed into the project;
 * `npm start` (embedded PostgreSQL, the project's Node 24) accepts an operation for each plugin
 * with 202 and `bulk:status` reads both final.
 */
import { strict as assert } from 'node:assert';
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
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/dev/embedded.ts';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { machineEnvironment, packedTarball } from '../support/package.ts';
import { runCli, startCli, type CliProcess } from '../support/processes.ts';
import { SHARED_SPECS } from '../support/specs.ts';

const SPEC = join(SHARED_SPECS, 'adobedocs-admin-schema-2.4.8.json');
const FIXTURE = join(import.meta.dirname, 'fixtures/acme-stock');
// From npm's cache where it has them (a CI machine's `npm ci` filled it), from the registry if not.
const INSTALL = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function run(cwd: string, command: string, args: string[], env: Record<string, string | undefined>) {
  const result = await runCli(command, args, { cwd, env, timeoutMs: 300_000 });
  assert.equal(result.code, 0, `${command} ${args.join(' ')} in ${cwd}\n${result.stdout}\n${result.stderr}`);
  return result;
}

test(
  'npm pack → a fresh folder → init → codegen → npm start → 202 → final; a plugin package as a peer',
  {
    timeout: 1_200_000,
    skip: !existsSync(SPEC) && `${SPEC} not found (the real specs live only in the shared workspace)`,
  },
  async (t) => {
    const tarball = await packedTarball();
    const root = mkdtempSync(join(tmpdir(), 'magento-async-journey-'));
    // Public like a usual folder: embedded PostgreSQL runs as another user when the test is root.
    chmodSync(root, 0o755);
    t.after(() => rmSync(root, { recursive: true, force: true }));
    assert.ok(!root.startsWith(PROJECT_ROOT), 'outside the repository');
    const database = { DATABASE_URL: process.env.DATABASE_URL };
    const env = machineEnvironment({ DATABASE_URL: undefined });

    // The integrator: the package from its tarball, installed by npm on the machine's Node.
    const shop = join(root, 'shop');
    mkdirSync(shop);
    await run(shop, 'npm', ['install', tarball, ...INSTALL], env);
    // The machine's Node starts the bin; it reruns itself with the package's Node (its `node` dependency).
    const version = await run(shop, 'node', [join(shop, 'node_modules/.bin/magento-async'), '--version'], env);
    assert.equal(version.stdout.trim(), VERSION);
    const made = await run(shop, 'npx', ['magento-async', 'init', '.'], env);
    assert.match(made.stdout, /Created a magento-async project in this folder/);

    // The extension author: a package with magento-async as a peer, tested with the kit, then packed.
    const author = join(root, 'acme-stock');
    cpSync(FIXTURE, author, { recursive: true });
    await run(author, 'npm', ['install', '--save-dev', tarball, ...INSTALL], env);
    const tested = await run(author, 'npm', ['test'], { ...env, ...database });
    assert.match(tested.stdout, /pass 2/, tested.stdout);
    const packed = await run(root, 'npm', ['pack', './acme-stock', '--loglevel=error'], env);
    await run(shop, 'npm', ['install', join(root, packed.stdout.trim().split('\n').at(-1)!), ...INSTALL], env);
    const configFile = join(shop, 'magento-async.config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(configFile, JSON.stringify({ ...config, pluginPackages: ['acme-stock'] }, null, 2));

    // Codegen on the store's spec: stubs only for operations no enabled plugin implements.
    const generated = await run(shop, 'npx', ['magento-async', 'codegen', '--spec', SPEC], env);
    assert.match(
      generated.stdout,
      /^347 routes from adobedocs-admin-schema-2\.4\.8\.json: \d+ files written, 0 unchanged, \d+ stubs created/m,
    );
    const stubs = readdirSync(join(shop, 'plugins')).filter((d) => d !== 'pages');
    assert.ok(stubs.length > 40, `stub folders: ${stubs.join(', ')}`);
    for (const dir of stubs) {
      const text = readFileSync(join(shop, 'plugins', dir, 'index.ts'), 'utf8');
      assert.doesNotMatch(text, /\b(PostV1CmsPage|PutV1ProductsSku):/, `plugins/${dir}/index.ts`);
      assert.match(text, /from 'magento-async\/plugin'/);
    }
    const kit = await run(shop, 'npm', ['test'], { ...env, ...database });
    assert.match(kit.stdout, /pass 2/, kit.stdout);

    // npm start: the project's Node, an embedded PostgreSQL in ./var, the server and a consumer.
    const port = await freePort();
    const started: CliProcess = startCli('npm', ['start'], { cwd: shop, env: { ...env, PORT: String(port) } });
    t.after(() => started.stop('SIGKILL'));
    await started.waitFor(/magento-async is running at/, 300_000);
    const token = readFileSync(join(shop, 'var/dev-token'), 'utf8').trim();
    const send = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}/rest/default/async/V1/${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 202, await response.clone().text());
      return ((await response.json()) as { bulk_uuid: string }).bulk_uuid;
    };
    const page = await send('POST', 'cmsPage', { page: { identifier: 'journey', title: 'Journey' } });
    const price = await send('PUT', 'products/J-1', { product: { price: 5 } });
    for (const uuid of [page, price]) {
      const status = await run(
        shop,
        'npx',
        ['magento-async', 'bulk:status', uuid, '--watch', '--interval', '200'],
        env,
      );
      assert.match(status.stdout, /Finished Successfully/, status.stdout);
    }
    await started.stop('SIGINT');
  },
);
