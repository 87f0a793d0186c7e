/**
 * `pluginPackages`: packages are found in the project's node_modules (not the framework's), their
 * `peerDependencies` range and their plugin's `compatibility` are checked against the framework
 * version, and each thing that can be wrong with a package is one load problem saying what to do.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPlugins, PluginLoadError } from '../../src/plugins/loader.ts';
import { entryOf } from '../../src/plugins/packages.ts';
import { route } from './fixtures.ts';

const routes = [route('POST', '/V1/products', 'PostV1Products')];

const plugin = (name: string, compatibility = '^1.0.0') =>
  `export default { name: '${name}', compatibility: '${compatibility}', handlers: { PostV1Products: async () => '${name}' } };\n`;

/** A project folder with these packages in its node_modules: name → package.json fields and files. */
function project(packages: Record<string, { pkg: object; files: Record<string, string> }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'project-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true }));
  for (const [name, { pkg, files }] of Object.entries(packages)) {
    const at = join(dir, 'node_modules', name);
    mkdirSync(at, { recursive: true });
    writeFileSync(join(at, 'package.json'), JSON.stringify({ name, version: '1.4.0', type: 'module', ...pkg }));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(join(at, file, '..'), { recursive: true });
      writeFileSync(join(at, file), text);
    }
  }
  return dir;
}

test('a package installed in the project (not in the framework) loads, and its handler runs', async (t) => {
  const dir = project({
    '@acme/pricing': {
      pkg: { exports: { '.': { import: './lib/plugin.js' } } },
      files: { 'lib/plugin.js': plugin('Acme_Pricing') },
    },
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Looked up from a folder inside the project, as Node does: the nearest node_modules up the tree.
  mkdirSync(join(dir, 'src'));
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    packages: ['@acme/pricing'],
    projectDir: join(dir, 'src'),
  });
  assert.equal(registry.describe('PostV1Products')?.handler, 'Acme_Pricing::PostV1Products');
});

test('what can be wrong with a package is a load problem naming it and the fix', async (t) => {
  const dir = project({
    'acme-future': { pkg: { main: 'index.js' }, files: { 'index.js': plugin('Acme_Future', '^2.0.0') } },
    'acme-peer': {
      pkg: { peerDependencies: { 'magento-async': '^3.0.0' } },
      files: { 'index.js': plugin('Acme_Peer') },
    },
    'acme-noexport': { pkg: {}, files: { 'index.js': 'export const handlers = {};\n' } },
    'acme-ts': { pkg: { exports: './index.ts' }, files: { 'index.ts': plugin('Acme_Ts') } },
    'acme-noentry': { pkg: { main: 'dist/index.js' }, files: {} },
    'acme-throws': { pkg: {}, files: { 'index.js': "throw new Error('boom at import');\n" } },
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases = [
    {
      pkg: 'acme-missing',
      problem: /^package acme-missing: is not installed in .*node_modules: run `npm install acme-missing` in /,
    },
    {
      pkg: 'acme-future',
      problem:
        /^Acme_Future \(package acme-future\): requires framework \^2\.0\.0, but this is magento-async 1\.0\.0\.$/,
    },
    {
      pkg: 'acme-peer',
      problem:
        /^package acme-peer: acme-peer@1\.4\.0 requires magento-async \^3\.0\.0 \(peerDependencies\), but this is magento-async 1\.0\.0\.$/,
    },
    {
      pkg: 'acme-noexport',
      problem: /^package acme-noexport: has no default export; export default definePlugin\(\{\.\.\.\}\)\.$/,
    },
    {
      pkg: 'acme-ts',
      problem:
        /^package acme-ts: its entry .*index\.ts is TypeScript, which Node does not run from node_modules: publish JavaScript/,
    },
    { pkg: 'acme-noentry', problem: /^package acme-noentry: its package\.json names no entry file that exists/ },
    { pkg: 'acme-throws', problem: /^package acme-throws: cannot be imported \(.*index\.js\): boom at import$/ },
    { pkg: 'Not A Name', problem: /^package Not A Name: is not an npm package name/ },
  ];
  for (const c of cases) {
    await t.test(c.pkg, async () => {
      await assert.rejects(
        loadPlugins({ routes, pluginsDir: null, packages: [c.pkg], projectDir: dir, frameworkVersion: '1.0.0' }),
        (error) => {
          assert.ok(error instanceof PluginLoadError);
          assert.equal(error.problems.length, 1, error.message);
          assert.match(error.problems[0]!, c.problem);
          return true;
        },
      );
    });
  }
});

test('every broken package is reported in one pass, beside the ones that load', async (t) => {
  const dir = project({ 'acme-good': { pkg: {}, files: { 'index.js': plugin('Acme_Good') } } });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    loadPlugins({ routes, pluginsDir: null, packages: ['acme-good', 'acme-a', 'acme-b'], projectDir: dir }),
    (error: PluginLoadError) =>
      error.problems.length === 2 && /acme-a/.test(error.problems[0]!) && /acme-b/.test(error.problems[1]!),
  );
});

test('the entry is read from exports (string, conditions, subpath map) or main, else index.js', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'entry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['a.js', 'b.js', 'c.js', 'd.js', 'index.js']) writeFileSync(join(dir, f), '');
  const cases: [object, string | null][] = [
    [{ exports: './a.js' }, 'a.js'],
    [{ exports: { import: './b.js', require: './x.cjs' } }, 'b.js'],
    [{ exports: { '.': { node: { import: './c.js' } }, './extra': './x.js' } }, 'c.js'],
    [{ main: 'd.js' }, 'd.js'],
    [{}, 'index.js'],
    [{ exports: { require: './x.cjs' } }, null],
  ];
  for (const [pkg, expected] of cases) {
    assert.equal(entryOf(dir, pkg), expected === null ? null : join(dir, expected), JSON.stringify(pkg));
  }
});
