/**
 * `magento-async init` without its npm install (the journey, test/package/journey.test.ts, runs
 * the whole of it from the packed package): what a new project holds, and what init refuses.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { init } from '../../src/commands/init.ts';
import { PACKAGE_JSON } from '../../src/kernel/package.ts';

const root = mkdtempSync(join(tmpdir(), 'init-'));
after(() => rmSync(root, { recursive: true, force: true }));

const quietly = async (fn: () => Promise<void>) => {
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
};

test('a new folder becomes a project depending on this version, with codegen for development', async () => {
  const dir = join(root, 'My Store');
  await quietly(() => init(dir, { install: false }));
  assert.deepEqual(readdirSync(dir).sort(), [
    '.gitignore',
    'README.md',
    'magento-async.config.json',
    'package.json',
    'plugins',
    'tsconfig.json',
  ]);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'my-store');
  assert.equal(pkg.type, 'module');
  assert.deepEqual(pkg.dependencies, { 'magento-async': `^${PACKAGE_JSON.version}` });
  assert.deepEqual(Object.keys(pkg.devDependencies).sort(), [
    '@types/node',
    'openapi-typescript',
    'swagger2openapi',
    'typescript',
  ]);
  assert.equal(pkg.scripts.start, 'magento-async start');
  assert.equal(pkg.allowScripts.node, true);
  // The approvals of this checkout's own development stay here: a project installs none of its tools.
  assert.equal(PACKAGE_JSON.allowScripts.esbuild, true);
  assert.deepEqual(
    Object.keys(pkg.allowScripts),
    Object.keys(PACKAGE_JSON.allowScripts).filter((name) => name !== 'esbuild'),
  );
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'magento-async.config.json'), 'utf8')).plugins, { examples: [] });
});

test('what `npm install <tarball>` made is kept: its way to get magento-async, its other dependencies', async () => {
  const dir = join(root, 'installed');
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  const installed = {
    name: 'shop',
    dependencies: { 'magento-async': 'file:../magento-async-1.0.0.tgz', pg: '^8.0.0' },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(installed));
  await quietly(() => init(dir, { install: false }));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'shop');
  assert.deepEqual(pkg.dependencies, installed.dependencies);
});

test('a folder with other files is refused, naming them, and left as it was', async () => {
  const dir = join(root, 'busy');
  mkdirSync(join(dir, 'plugins'), { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  await assert.rejects(
    () => init(dir, { install: false }),
    /busy is not empty \(notes\.txt, plugins\): init makes a new project\./,
  );
  assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'plugins']);
});
