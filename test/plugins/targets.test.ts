/**
 * Service-level targets: an interceptor or handler naming a Magento service method applies to every
 * route of that method, in whichever route table is loaded, and to none where the method is absent.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlugin, type HandlerContext } from '../../src/plugin.ts';
import { loadPlugins, PluginLoadError } from '../../src/plugins/loader.ts';
import { expandServiceHandlers, isServiceTarget, serviceKey, targetsRoute } from '../../src/plugins/targets.ts';
import { context, NO_CODE, route } from './fixtures.ts';

const SAVE = 'Magento\\Catalog\\Api\\ProductRepositoryInterface::save';
const save = { service: SAVE };
/** 2.4.8: operationIds from the route, the service from Magento's route table. */
const current = [
  route('POST', '/V1/products', 'PostV1Products', save),
  route('PUT', '/V1/products/{sku}', 'PutV1ProductsSku', save),
  route('DELETE', '/V1/products/{sku}', 'DeleteV1ProductsSku', {
    service: 'Magento\\Catalog\\Api\\ProductRepositoryInterface::deleteById',
  }),
  route('POST', '/V1/cmsPage', 'PostV1CmsPage'),
];
/** A pre-2.4 spec: the service only in the operationId, as Magento's service name. */
const legacy = [
  route('POST', '/V1/products', 'catalogProductRepositoryV1SavePost', { service: 'catalogProductRepositoryV1::save' }),
  route('PUT', '/V1/products/{sku}', 'catalogProductRepositoryV1SavePut', {
    service: 'catalogProductRepositoryV1::save',
  }),
];

describe('service names', () => {
  const cases: [string, string][] = [
    [SAVE, 'catalogProductRepository::save'],
    ['catalogProductRepositoryV1::save', 'catalogProductRepository::save'],
    // getServiceName keeps a module name the service does not start with…
    ['Magento\\Customer\\Api\\CustomerRepositoryInterface::save', 'customerCustomerRepository::save'],
    ['customerCustomerRepositoryV1::save', 'customerCustomerRepository::save'],
    // …drops one it repeats, and keeps a vendor other than Magento.
    ['Magento\\Quote\\Api\\Quote\\ItemInterface::x', 'quoteItem::x'],
    ['Acme\\Stock\\Api\\SourceRepositoryInterface::save', 'acmeStockSourceRepository::save'],
  ];
  for (const [name, key] of cases) test(`${name} → ${key}`, () => assert.equal(serviceKey(name), key));

  test('what counts as a service target', () => {
    assert.deepEqual(
      [SAVE, 'catalogProductRepositoryV1::save', 'PostV1Products', '*', 'Acme_Catalog::guard', 'a::b c'].map(
        isServiceTarget,
      ),
      [true, true, false, false, true, false],
    );
  });
});

describe('targetsRoute', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'PostV1CmsPage', true],
    ['PostV1Products', 'PostV1Products', true],
    ['PostV1Products', 'PutV1ProductsSku', false],
    [SAVE, 'PostV1Products', true],
    [SAVE, 'PutV1ProductsSku', true],
    [SAVE, 'DeleteV1ProductsSku', false],
    [SAVE, 'PostV1CmsPage', false],
  ];
  for (const [target, operationId, expected] of cases) {
    test(`${target} ${expected ? 'wraps' : 'does not wrap'} ${operationId}`, () =>
      assert.equal(
        targetsRoute(
          target,
          current.find((r) => r.operationId === operationId),
        ),
        expected,
      ));
  }
  test('the class form matches the routes of a legacy spec', () => {
    assert.ok(legacy.every((r) => targetsRoute(SAVE, r)));
  });
});

test('a service-keyed handler stands for each of its routes; an operationId key of the same plugin wins', () => {
  const byService = async () => 'service';
  const byId = async () => 'put';
  const expanded = expandServiceHandlers({ [SAVE]: byService, PutV1ProductsSku: byId }, current);
  assert.deepEqual(Object.keys(expanded).sort(), ['PostV1Products', 'PutV1ProductsSku']);
  assert.equal(expanded.PostV1Products, byService);
  assert.equal(expanded.PutV1ProductsSku, byId);
});

const ctx = (operationId: string): HandlerContext =>
  context({ query: async () => ({ rows: [], rowCount: 0 }) }, NO_CODE, operationId);

function plugin(definition: object) {
  return { source: 'test', module: { default: definition } };
}

describe('loaded plugins', () => {
  const guard = definePlugin({
    name: 'Acme_Guard',
    compatibility: '^1.0.0',
    interceptors: [
      {
        name: 'mark',
        target: SAVE,
        after: (result: unknown, args: { route: string }) => `${String(result)}+${args.route}`,
      },
    ],
  });
  const catalog = definePlugin({
    name: 'Acme_Catalog',
    compatibility: '^1.0.0',
    // Keyed by service only, so it loads against any spec version.
    handlers: { [SAVE]: async () => 'saved', [SAVE.replace('::save', '::deleteById')]: async () => true },
  });

  for (const [spec, routes] of [
    ['2.4.8', current],
    ['legacy', legacy],
  ] as const) {
    test(`${spec}: one interceptor and one handler on ${SAVE} cover every route of it`, async () => {
      const registry = await loadPlugins({
        routes,
        pluginsDir: null,
        modules: [plugin(guard), plugin(catalog)],
        frameworkVersion: '1.0.0',
      });
      for (const r of routes.filter((x) => x.service?.endsWith('::save'))) {
        const run = await registry.invoke(r.operationId, { route: r.operationId }, ctx(r.operationId));
        assert.deepEqual(run, { result: `saved+${r.operationId}`, handler: `Acme_Catalog::${r.operationId}` });
      }
    });
  }

  test('the delete route of the same class is not wrapped by the save interceptor', async () => {
    const registry = await loadPlugins({
      routes: current,
      pluginsDir: null,
      modules: [plugin(guard), plugin(catalog)],
      frameworkVersion: '1.0.0',
    });
    assert.equal((await registry.invoke('DeleteV1ProductsSku', {}, ctx('DeleteV1ProductsSku'))).result, true);
  });

  test('a spec without the method loads the plugin and wraps nothing', async () => {
    const registry = await loadPlugins({
      routes: [route('POST', '/V1/cmsPage', 'PostV1CmsPage')],
      pluginsDir: null,
      modules: [
        plugin(guard),
        plugin({ name: 'Acme_Cms', compatibility: '^1.0.0', handlers: { PostV1CmsPage: async () => 'page' } }),
      ],
      frameworkVersion: '1.0.0',
    });
    assert.equal((await registry.invoke('PostV1CmsPage', { route: 'x' }, ctx('PostV1CmsPage'))).result, 'page');
    assert.equal(registry.describe('PostV1Products'), null);
  });

  test('two plugins claiming a route, one by service and one by operationId, conflict as any two claims do', async () => {
    const other = { name: 'Acme_Other', compatibility: '^1.0.0', handlers: { PutV1ProductsSku: async () => 'other' } };
    await assert.rejects(
      loadPlugins({
        routes: current,
        pluginsDir: null,
        modules: [plugin(catalog), plugin(other)],
        frameworkVersion: '1.0.0',
      }),
      (error: PluginLoadError) =>
        error.problems.length === 1 &&
        /Acme_Catalog \(test\), Acme_Other \(test\): each implements handler "PutV1ProductsSku"/.test(
          error.problems[0]!,
        ),
    );
    const replacing = { ...other, replaces: ['Acme_Catalog'] };
    const registry = await loadPlugins({
      routes: current,
      pluginsDir: null,
      modules: [plugin(catalog), plugin(replacing)],
      frameworkVersion: '1.0.0',
    });
    assert.equal(registry.describe('PutV1ProductsSku')?.handler, 'Acme_Other::PutV1ProductsSku');
    assert.equal(registry.describe('PostV1Products')?.handler, 'Acme_Catalog::PostV1Products');
  });

  test('another plugin switches a service interceptor off for one route, or a `*` one for a whole service', async () => {
    const quiet = {
      name: 'Acme_Quiet',
      compatibility: '^1.0.0',
      interceptors: [
        { name: 'Acme_Guard::mark', target: 'PutV1ProductsSku', disabled: true },
        { name: 'Acme_Log::all', target: SAVE, disabled: true },
      ],
    };
    const log = {
      name: 'Acme_Log',
      compatibility: '^1.0.0',
      interceptors: [{ name: 'all', target: '*', after: (result: unknown) => `${String(result)}+log` }],
    };
    const registry = await loadPlugins({
      routes: current,
      pluginsDir: null,
      modules: [plugin(guard), plugin(catalog), plugin(log), plugin(quiet)],
      frameworkVersion: '1.0.0',
    });
    const results = [];
    for (const id of ['PostV1Products', 'PutV1ProductsSku', 'DeleteV1ProductsSku'])
      results.push((await registry.invoke(id, { route: id }, ctx(id))).result);
    assert.deepEqual(results, ['saved+PostV1Products', 'saved', 'true+log']);
  });

  test('a target that is neither an operation, `*` nor Class::method is still a load error', async () => {
    const typo = {
      name: 'Acme_Typo',
      compatibility: '^1.0.0',
      interceptors: [{ name: 'x', target: 'PostV1Prodcts', before: () => {} }],
    };
    await assert.rejects(
      loadPlugins({ routes: current, pluginsDir: null, modules: [plugin(typo)], frameworkVersion: '1.0.0' }),
      /targets "PostV1Prodcts", which is neither "\*", an operation of the route table nor a service method/,
    );
  });
});
