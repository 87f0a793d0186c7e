/**
 * `plugin:new <entity>` run from the sources (a fresh checkout, configured with a plugins folder of
 * its own: the checkout's plugins/ is the framework's and refused): the plugin it writes type-checks
 * against the generated routes and is formatted as the project formats, the test it writes passes
 * as written (through the test kit: server, consumer, this plugin), and it never overwrites an
 * author's plugin. In a store project (`init`) docs/testing-plugins.md runs it.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { copyCheckout, type Checkout } from '../support/checkout.ts';
import { runCli } from '../support/processes.ts';

let checkout: Checkout;
before(() => {
  checkout = copyCheckout();
  writeFileSync(join(checkout.dir, 'magento-async.config.json'), JSON.stringify({ pluginsDir: 'store' }));
});
after(() => checkout.remove());

// A test file's own process tells a nested `node --test` to report to it instead of printing.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));

const cli = (...args: string[]) =>
  runCli(process.execPath, ['bin/magento-async.js', ...args], { cwd: checkout.dir, env });

test('scaffolds a plugin for an entity whose test passes as written', { timeout: 180_000 }, async () => {
  const made = await cli('plugin:new', 'carts', '--name', 'Acme_Carts');
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /Wrote store\/carts\/index\.ts: plugin Acme_Carts, 2 handlers/);
  const plugin = readFileSync(join(checkout.dir, 'store/carts/index.ts'), 'utf8');
  assert.match(plugin, /async PostV1CartsQuoteIdItems\(args, ctx\)/);
  assert.match(plugin, /definePlugin<OperationArgs>/);

  const tests = await runCli(process.execPath, ['--test', 'store/carts/index.test.ts'], {
    cwd: checkout.dir,
    env,
  });
  assert.equal(tests.code, 0, tests.stdout + tests.stderr);
  assert.match(tests.stdout, /# pass 2|ℹ pass 2/);

  const formatted = await runCli(
    process.execPath,
    ['node_modules/prettier/bin/prettier.cjs', '--check', 'store/carts'],
    {
      cwd: checkout.dir,
    },
  );
  assert.equal(formatted.code, 0, formatted.stdout + formatted.stderr);
});

test('refuses what it must not do, saying why', { timeout: 120_000 }, async (t) => {
  // An author's plugin, with a real handler: never overwritten.
  const mine = join(checkout.dir, 'store/mine/index.ts');
  mkdirSync(dirname(mine), { recursive: true });
  writeFileSync(
    mine,
    "export default { name: 'Acme_Mine', compatibility: '^1.0.0', handlers: { PostV1Customers: async () => null } };\n",
  );
  const cases = [
    {
      args: ['plugin:new', 'nothing'],
      error: /No operations of entity "nothing" in src\/generated .*entities: carts, cmsPage, customers, products/,
    },
    {
      args: ['plugin:new', 'products', '--name', 'acme'],
      error: /--name "acme" is not a Magento-style "Vendor_Module" name/,
    },
    {
      args: ['plugin:new', 'customers', '--dir', 'mine'],
      error: /store\/mine\/index\.ts already exists and is not codegen's stub/,
    },
    { args: ['plugin:new', 'products', '--dir', '../outside'], error: /--dir "\.\.\/outside" is not a folder name/ },
  ];
  for (const c of cases) {
    await t.test(c.args.join(' '), async () => {
      const before = readFileSync(mine, 'utf8');
      const result = await cli(...c.args);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, c.error);
      assert.equal(readFileSync(mine, 'utf8'), before);
      assert.equal(existsSync(join(checkout.dir, 'store/mine/index.test.ts')), false);
    });
  }
});

test("never into the framework's own plugins/: a store's plugins go to its project", async () => {
  // The default pluginsDir of a checkout with no configuration of its own.
  const framework = join(checkout.dir, 'framework.config.json');
  writeFileSync(framework, JSON.stringify({ pluginsDir: 'plugins' }));
  const result = await runCli(process.execPath, ['bin/magento-async.js', 'plugin:new', 'carts'], {
    cwd: checkout.dir,
    env: { ...env, MAGENTO_ASYNC_CONFIG: framework },
  });
  assert.equal(result.code, 1, result.stdout);
  assert.match(
    result.stderr,
    /plugins\/ of magento-async's own checkout holds its built-in plugin.*npx magento-async init <dir>/,
  );
  assert.equal(existsSync(join(checkout.dir, 'plugins/carts')), false);
});

test('--help says what it writes', async () => {
  const help = await cli('plugin:new', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: magento-async plugin:new \[options\] <entity>/);
  assert.match(help.stdout, /never overwrites a plugin/);
});
