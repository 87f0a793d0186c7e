import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPlugins, PluginLoadError, runInstalls } from '../../src/plugins/loader.ts';
import { createTestDatabase } from '../support/db.ts';
import { route } from './fixtures.ts';

const API = pathToFileURL(join(import.meta.dirname, '../../src/plugin.ts')).href;
const routes = [
  route('POST', '/V1/products', 'PostV1Products'),
  route('DELETE', '/V1/cmsPage/{pageId}', 'DeleteV1CmsPagePageId'),
];

function pluginDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'plugins-'));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'index.ts'), body.replaceAll('API', API));
  }
  return dir;
}

test('loads every <dir>/index.ts in name order, with migrations collected as installs', async (t) => {
  const dir = pluginDir({
    beta: `import { definePlugin } from 'API';
      export const migrations = ['CREATE TABLE IF NOT EXISTS beta_t (id int)'];
      export default definePlugin({ name: 'Acme_Beta', compatibility: '^1.0.0', handlers: { PostV1Products: async () => 'beta' } });`,
    alpha: `import { definePlugin } from 'API';
      export const migrations = ['CREATE TABLE IF NOT EXISTS alpha_t (id int)'];
      export default definePlugin({ name: 'Acme_Alpha', compatibility: '>=1.0.0 <2' });`,
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const registry = await loadPlugins({ routes, pluginsDir: dir, frameworkVersion: '1.2.0' });
  assert.deepEqual(
    registry.installs.map((i) => i.plugin),
    ['Acme_Alpha', 'Acme_Beta'],
  );
  assert.equal(registry.describe('PostV1Products')?.handler, 'Acme_Beta::PostV1Products');

  const db = await createTestDatabase('plugin_installs');
  t.after(() => db.drop());
  await runInstalls(db.pool, db.schema, registry.installs);
  const { rows } = await db.pool.query(
    `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
      WHERE starts_with(table_schema, $1) AND table_name LIKE '%\\_t' ORDER BY 1`,
    [db.schema],
  );
  assert.deepEqual(
    rows.map((r) => r.t),
    [`${db.schema}__acme_alpha.alpha_t`, `${db.schema}__acme_beta.beta_t`],
  );
});

test('a plugin folder that is a symbolic link (workspaces, ln -s) loads like a real one', async (t) => {
  const elsewhere = pluginDir({
    linked: `import { definePlugin } from 'API';
      export default definePlugin({ name: 'Acme_Linked', compatibility: '^1.0.0', handlers: { PostV1Products: async () => 'linked' } });`,
  });
  const dir = mkdtempSync(join(tmpdir(), 'plugins-'));
  symlinkSync(join(elsewhere, 'linked'), join(dir, 'linked'));
  // A dangling link or a link to a file is not a plugin folder, and must not stop the others.
  symlinkSync(join(elsewhere, 'gone'), join(dir, 'dangling'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });
  const registry = await loadPlugins({ routes, pluginsDir: dir, frameworkVersion: '1.0.0' });
  const run = await registry.invoke('PostV1Products', {}, {} as never);
  assert.deepEqual(run, { result: 'linked', handler: 'Acme_Linked::PostV1Products' });
});

test('every problem of every plugin is reported at once, naming plugin, file and reason', async (t) => {
  const dir = pluginDir({
    broken: `import { nothing } from './missing.ts'; export default nothing;`,
    nodefault: `export const x = 1;`,
    bad: `import { definePlugin } from 'API';
      export default definePlugin({
        name: 'not-a-module-name',
        compatibility: 'soon',
        handlers: { PutV1Nothing: async () => 1, PostV1Products: 'nope' },
        interceptors: [
          { name: 'x', target: 'PostV1Nowhere', before: () => {} },
          { name: 'x', target: '*', sortOrder: 1.5 },
          { name: 'Acme_Good::missing', target: '*', disabled: true },
          { name: 'Acme_Good::g', target: '*', before: () => {} },
        ],
        replaces: 'Acme_Good',
      });
      export const migrations = 'CREATE TABLE x ()';`,
    good: `import { definePlugin } from 'API';
      export default definePlugin({ name: 'Acme_Good', compatibility: '^1.0.0', interceptors: [{ name: 'g', target: '*', after: (r) => r }] });`,
    newer: `import { definePlugin } from 'API';
      export default definePlugin({ name: 'Acme_Newer', compatibility: '^2.0.0' });`,
    twin: `import { definePlugin } from 'API';
      export default definePlugin({ name: 'Acme_Good', compatibility: '^1.0.0' });`,
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const error = await loadPlugins({ routes, pluginsDir: dir, frameworkVersion: '1.0.0' }).then(
    () => assert.fail('expected a PluginLoadError'),
    (e: unknown) => e as PluginLoadError,
  );
  assert.ok(error instanceof PluginLoadError);
  const expected: RegExp[] = [
    /broken\/index.ts: cannot be imported: /,
    /nodefault\/index.ts: has no default export/,
    /not-a-module-name \(.*bad\/index.ts\): name "not-a-module-name" is not a Magento-style "Vendor_Module" name/,
    /bad\/index.ts\): compatibility "soon" is not a semver range/,
    /bad\/index.ts\): handler "PutV1Nothing" names no operation of the route table/,
    /bad\/index.ts\): handler "PostV1Products" is not a function/,
    /bad\/index.ts\): interceptor "x" targets "PostV1Nowhere", which is neither "\*", an operation of the route table nor a service method/,
    /bad\/index.ts\): interceptor "x" is declared twice/,
    /bad\/index.ts\): interceptor "x" has a sortOrder that is not an integer/,
    /bad\/index.ts\): interceptor "x" has none of before, around, after/,
    /bad\/index.ts\): interceptor "Acme_Good::g" names another plugin's interceptor; that is only allowed with disabled: true/,
    /bad\/index.ts\): replaces must be an array/,
    /bad\/index.ts\): export "migrations" must be an array/,
    /Acme_Newer \(.*newer\/index.ts\): requires framework \^2.0.0, but this is magento-async 1.0.0/,
    /Acme_Good \(.*twin\/index.ts\): a plugin with this name is already loaded from .*good\/index.ts/,
  ];
  for (const re of expected) assert.match(error.message, re);
  assert.equal(error.problems.length, expected.length, error.message);
});

test('a disabled reference to an interceptor its loaded plugin lacks is reported; to an absent plugin it is not', async () => {
  const mods = (ref: string) => [
    {
      source: 'a',
      module: {
        default: {
          name: 'Acme_A',
          compatibility: '*',
          interceptors: [{ name: 'real', target: '*', before: () => {} }],
        },
      },
    },
    {
      source: 'b',
      module: {
        default: { name: 'Acme_B', compatibility: '*', interceptors: [{ name: ref, target: '*', disabled: true }] },
      },
    },
  ];
  await assert.rejects(
    loadPlugins({ routes, pluginsDir: null, modules: mods('Acme_A::typo'), frameworkVersion: '1.0.0' }),
    /Acme_B \(b\): disables "Acme_A::typo", but Acme_A has no interceptor "typo"/,
  );
  await loadPlugins({ routes, pluginsDir: null, modules: mods('Optional_Module::x'), frameworkVersion: '1.0.0' });
});

test('an upstream with the built-in forwarder switched off is a load error; packages load by path', async (t) => {
  const dir = pluginDir({
    p: `import { definePlugin } from 'API'; export default definePlugin({ name: 'Acme_P', compatibility: '^1' });`,
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    loadPlugins({
      routes,
      pluginsDir: null,
      packages: [join(dir, 'p/index.ts')],
      upstream: { baseUrl: 'http://up' },
      builtins: false,
      frameworkVersion: '1.0.0',
    }),
    /an upstream \(http:\/\/up\) is configured, but no loaded plugin forwards to it/,
  );
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    packages: [join(dir, 'p/index.ts')],
    frameworkVersion: '1.0.0',
  });
  assert.equal(registry.has('PostV1Products'), false);
});

test('the framework version defaults to package.json', async () => {
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    modules: [{ source: 'm', module: { default: { name: 'Acme_M', compatibility: '^1.0.0' } } }],
  });
  assert.equal(registry.installs.length, 0);
});

test('a requires key naming no operation is refused with its code; a service method applies to its routes; a shipped example keeps only the ones the table has', async () => {
  const requires = (id: string) => () => [{ entity: 'products', key: id }];
  await assert.rejects(
    loadPlugins({
      routes,
      pluginsDir: null,
      modules: [
        {
          source: 'm',
          module: {
            default: {
              name: 'Acme_Links',
              compatibility: '^1.0.0',
              requires: { PostV1Products: requires('ok'), PostV1Prodcuts: requires('typo') },
            },
          },
        },
      ],
    }),
    (error: unknown) => {
      assert.ok(error instanceof PluginLoadError);
      assert.deepEqual(error.problems, [
        'Acme_Links (m): MA_PLUGIN_REQUIRES_UNKNOWN: requires "PostV1Prodcuts" names no operation of the route table (run codegen, or check the spelling).',
      ]);
      return true;
    },
  );

  const service = 'Magento\\Catalog\\Api\\ProductRepositoryInterface::save';
  const registry = await loadPlugins({
    routes: [
      route('POST', '/V1/products', 'PostV1Products', { service }),
      route('PUT', '/V1/products/{sku}', 'PutV1ProductsSku', { service }),
    ],
    pluginsDir: null,
    examples: ['catalog'],
    modules: [
      {
        source: 'm',
        module: {
          default: {
            name: 'Acme_Links',
            compatibility: '^1.0.0',
            requires: { [service]: requires('by-service') },
          },
        },
      },
    ],
  });
  // The catalog example declares the configurable child link and product links, which this table lacks.
  assert.deepEqual([...registry.requires.keys()].sort(), ['PostV1Products', 'PutV1ProductsSku']);
  assert.deepEqual(
    registry.requires.get('PutV1ProductsSku')!.map((r) => r({ product: {} } as never)),
    [[], [{ entity: 'products', key: 'by-service' }]],
  );
});
