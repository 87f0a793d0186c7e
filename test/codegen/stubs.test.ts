/**
 * Stubs are for operations nobody implements: a stub and a real handler for one operation are
 * never both in plugins/, and when they would be, the loader says which file to edit.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT, runCodegen } from '../../codegen/index.ts';
import { pruneStubs } from '../../codegen/emit/stubs.ts';
import { loadPlugins, PluginLoadError } from '../../src/plugins/loader.ts';

const SAMPLE = join(PROJECT_ROOT, 'openapi/magento-sample.yaml');
const work = join(PROJECT_ROOT, '.cache/test-codegen-stubs');
const out = join(work, 'generated');
const plugins = join(work, 'plugins');
const ALL = ['catalog', 'customer', 'cms'];

const stubIds = (text: string) => [...text.matchAll(/^ {4}(\w+): notImplemented\(/gm)].map((m) => m[1]);

describe('pruneStubs', () => {
  const file = [
    'handlers: {',
    '    // POST /V1/products',
    "    PostV1Products: notImplemented('plugins/products/index.ts#PostV1Products'),",
    '    // PUT /V1/products/{sku}',
    "    PutV1ProductsSku: async () => 'mine',",
    '    // DELETE /V1/products/{sku}',
    "    DeleteV1ProductsSku: notImplemented('plugins/products/index.ts#DeleteV1ProductsSku'),",
    '},',
    '',
  ].join('\n');
  const cases = [
    { name: 'an untouched entry goes, comment and all', ids: ['PostV1Products'], pruned: ['PostV1Products'] },
    { name: 'an entry the author wrote stays', ids: ['PutV1ProductsSku'], pruned: [] },
    { name: 'an id that is only a prefix of another matches nothing', ids: ['PostV1Product'], pruned: [] },
    {
      name: 'several at once',
      ids: ['PostV1Products', 'DeleteV1ProductsSku'],
      pruned: ['PostV1Products', 'DeleteV1ProductsSku'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { text, pruned } = pruneStubs(file, c.ids);
      assert.deepEqual(pruned, c.pruned);
      for (const id of c.pruned) assert.ok(!text.includes(id), `${id} gone`);
      assert.ok(text.includes("PutV1ProductsSku: async () => 'mine',"));
      assert.equal(file.split('\n').length - text.split('\n').length, 2 * c.pruned.length);
    });
  }
});

describe('codegen stubs beside the examples', () => {
  before(() => rm(work, { recursive: true, force: true }));
  after(() => rm(work, { recursive: true, force: true }));

  it('with the examples enabled, stubs only for what they do not implement', async () => {
    const result = await runCodegen({ spec: SAMPLE, out, plugins, warn: null, examples: ALL });
    assert.deepEqual(
      result.files
        .filter((f) => f.status === 'created')
        .map((f) => f.path.slice(plugins.length))
        .sort(),
      ['/carts/index.ts', '/products/index.ts'],
    );
    assert.deepEqual(stubIds(await readFile(join(plugins, 'products/index.ts'), 'utf8')), [
      'PostV1ProductsSkuMedia',
      'DeleteV1ProductsSkuMediaEntryId',
      'PutV1ProductsSkuMediaEntryId',
    ]);
    assert.equal(existsSync(join(plugins, 'customers')), false);
  });

  it('enabling an example later prunes the stub entries codegen wrote, not the author’s', async () => {
    await rm(plugins, { recursive: true, force: true });
    await runCodegen({ spec: SAMPLE, out, plugins, warn: null });
    const file = join(plugins, 'products/index.ts');
    // The author implemented one media operation in the generated file.
    const authored = (await readFile(file, 'utf8')).replace(
      /PostV1ProductsSkuMedia: notImplemented\([^)]*\)/,
      "PostV1ProductsSkuMedia: async () => 'media'",
    );
    await writeFile(file, authored);
    const result = await runCodegen({ spec: SAMPLE, out, plugins, warn: null, examples: ['catalog'] });
    assert.equal(result.files.find((f) => f.path === file)?.status, 'pruned');
    const text = await readFile(file, 'utf8');
    assert.deepEqual(stubIds(text), ['DeleteV1ProductsSkuMediaEntryId', 'PutV1ProductsSkuMediaEntryId']);
    assert.match(text, /PostV1ProductsSkuMedia: async \(\) => 'media'/);
    assert.equal(
      (await runCodegen({ spec: SAMPLE, out, plugins, warn: null, examples: ['catalog'] })).files.find(
        (f) => f.path === file,
      )?.status,
      'kept',
    );
  });

  it('a stub made real beside the example that implements it: the load error says which file to edit', async () => {
    const { routes } = (await import(join(out, 'routes.gen.js'))) as { routes: never[] };
    const file = join(plugins, 'products/index.ts');
    const text = await readFile(file, 'utf8');
    // As the stub header invites: the author replaces a stub, here one the catalog example also runs.
    await writeFile(
      file,
      text.replace(
        '  handlers: {\n',
        "  handlers: {\n    // POST /V1/products\n    PostV1Products: async () => 'mine',\n",
      ),
    );
    const error = await loadPlugins({ routes, pluginsDir: plugins, examples: ['catalog'] }).then(
      () => assert.fail('expected a PluginLoadError'),
      (e: unknown) => e as PluginLoadError,
    );
    assert.ok(error instanceof PluginLoadError);
    const [problem] = error.problems;
    assert.match(problem!, /each implements handler "PostV1Products"/);
    assert.match(problem!, /delete "PostV1Products" from \S*plugins\/products\/index\.ts/);
    assert.match(problem!, /add replaces: \['Magento_Catalog'\] in \S*plugins\/products\/index\.ts/);
    assert.match(problem!, /take "catalog" out of plugins\.examples/);
    // Without the example, the author's handler runs.
    const registry = await loadPlugins({ routes, pluginsDir: plugins });
    assert.equal(registry.describe('PostV1Products')?.handler, 'Generated_Products::PostV1Products');
  });

  it('a stub beside a real handler loads (the real one runs) with a note naming the stub’s file', async () => {
    const { routes } = (await import(join(out, 'routes.gen.js'))) as { routes: never[] };
    await rm(plugins, { recursive: true, force: true });
    await runCodegen({ spec: SAMPLE, out, plugins, warn: null });
    const registry = await loadPlugins({ routes, pluginsDir: plugins, examples: ['cms'] });
    assert.equal(registry.describe('DeleteV1CmsPagePageId')?.handler, 'Magento_Cms::DeleteV1CmsPagePageId');
    assert.ok(
      registry.notes.some((n) =>
        /plugins\/cmsPage\/index\.ts: "DeleteV1CmsPagePageId" is a stub, but Magento_Cms \(examples\/cms\/index\.ts\) implements it/.test(
          n,
        ),
      ),
      registry.notes.join('\n'),
    );
  });
});
