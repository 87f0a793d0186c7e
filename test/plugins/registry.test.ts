import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlugin, notImplemented, type Handler, type Interceptor } from '../../src/plugin.ts';
import { loadPlugins, PluginLoadError, type LoadOptions } from '../../src/plugins/loader.ts';
import { NoHandlerError } from '../../src/plugins/registry.ts';
import { context, NO_CODE, route } from './fixtures.ts';

const routes = [
  route('PUT', '/V1/products/{sku}', 'PutV1ProductsSku'),
  route('POST', '/V1/products', 'PostV1Products'),
  route('DELETE', '/V1/cmsPage/{pageId}', 'DeleteV1CmsPagePageId'),
];
const ctx = context({ query: async () => ({ rows: [], rowCount: 0 }) }, NO_CODE);

function mod(name: string, extra: Record<string, unknown> = {}, exports: Record<string, unknown> = {}) {
  return {
    source: `test:${name}`,
    module: { default: definePlugin({ name, compatibility: '^1.0.0', ...extra }), ...exports },
  };
}
const real =
  (tag: string): Handler =>
  async () =>
    tag;
const stub = notImplemented('plugins/products/index.ts#PutV1ProductsSku');
const fakeFallback = () => (operationId: string) =>
  operationId === 'DeleteV1CmsPagePageId' ? undefined : real(`forwarded ${operationId}`);

function load(modules: ReturnType<typeof mod>[], extra: Partial<LoadOptions> = {}) {
  return loadPlugins({ routes, pluginsDir: null, modules, frameworkVersion: '1.0.0', ...extra });
}

const resolution: { title: string; modules: ReturnType<typeof mod>[]; upstream?: boolean; expect: string | RegExp }[] =
  [
    {
      title: 'a real handler beats a generated stub loaded before it',
      modules: [
        mod('Generated_Products', { handlers: { PutV1ProductsSku: stub } }),
        mod('Acme_Catalog', { handlers: { PutV1ProductsSku: real('real') } }),
      ],
      expect: 'Acme_Catalog::PutV1ProductsSku=real',
    },
    {
      title: 'the fallback beats a stub when an upstream is configured',
      modules: [
        mod('Generated_Products', { handlers: { PutV1ProductsSku: stub } }),
        mod('Acme_Forward', {}, { fallback: fakeFallback }),
      ],
      upstream: true,
      expect: 'Acme_Forward::PutV1ProductsSku=forwarded PutV1ProductsSku',
    },
    {
      title: 'a real handler beats the fallback',
      modules: [
        mod('Acme_Catalog', { handlers: { PutV1ProductsSku: real('real') } }),
        mod('Acme_Forward', {}, { fallback: fakeFallback }),
      ],
      upstream: true,
      expect: 'Acme_Catalog::PutV1ProductsSku=real',
    },
    {
      title: 'without upstream the stub runs and fails with its own message',
      modules: [
        mod('Generated_Products', { handlers: { PutV1ProductsSku: stub } }),
        mod('Acme_Forward', {}, { fallback: () => undefined }),
      ],
      expect: /^Handler plugins\/products\/index.ts#PutV1ProductsSku is not implemented yet/,
    },
    {
      title: 'nothing at all: NoHandlerError naming the operation, topic and file',
      modules: [],
      expect:
        'No handler is implemented for route PUT /V1/products/{sku} (operation "PutV1ProductsSku", topic async.V1.products.sku.PUT): implement it in plugins/products/index.ts or configure an upstream for http-forward.',
    },
    {
      title: 'replaces settles two real claims in favour of the replacer',
      modules: [
        mod('Acme_Catalog', { handlers: { PutV1ProductsSku: real('acme') } }),
        mod('Better_Catalog', { handlers: { PutV1ProductsSku: real('better') }, replaces: ['Acme_Catalog'] }),
      ],
      expect: 'Better_Catalog::PutV1ProductsSku=better',
    },
  ];

for (const c of resolution) {
  test(`resolution: ${c.title}`, async () => {
    const registry = await load(c.modules, c.upstream ? { upstream: { baseUrl: 'http://127.0.0.1:9' } } : {});
    let outcome: string;
    try {
      const { result, handler } = await registry.invoke('PutV1ProductsSku', {}, ctx);
      outcome = `${handler}=${String(result)}`;
    } catch (error) {
      outcome = (error as Error).message;
      if (c.modules.length === 0) assert.ok(error instanceof NoHandlerError);
    }
    if (typeof c.expect === 'string') assert.equal(outcome, c.expect);
    else assert.match(outcome, c.expect);
    assert.equal(registry.has('PutV1ProductsSku'), c.modules.length > 0);
  });
}

test('the fallback may decline an operation: then NoHandlerError', async () => {
  const registry = await load([mod('Acme_Forward', {}, { fallback: fakeFallback })], {
    upstream: { baseUrl: 'http://x' },
  });
  assert.equal(registry.has('DeleteV1CmsPagePageId'), false);
  await assert.rejects(registry.invoke('DeleteV1CmsPagePageId', {}, ctx), NoHandlerError);
});

const conflicts: { title: string; modules: ReturnType<typeof mod>[]; problem: RegExp }[] = [
  {
    title: 'two plugins claiming one handler',
    modules: [
      mod('Acme_A', { handlers: { PostV1Products: real('a') } }),
      mod('Acme_B', { handlers: { PostV1Products: real('b') } }),
    ],
    problem: /Acme_A \(test:Acme_A\), Acme_B \(test:Acme_B\): each implements handler "PostV1Products"/,
  },
  {
    title: 'replacing each other settles nothing',
    modules: [
      mod('Acme_A', { handlers: { PostV1Products: real('a') }, replaces: ['Acme_B'] }),
      mod('Acme_B', { handlers: { PostV1Products: real('b') }, replaces: ['Acme_A'] }),
    ],
    problem: /each implements handler "PostV1Products"/,
  },
  {
    title: 'a third claimant not covered by replaces',
    modules: [
      mod('Acme_A', { handlers: { PostV1Products: real('a') } }),
      mod('Acme_B', { handlers: { PostV1Products: real('b') }, replaces: ['Acme_A'] }),
      mod('Acme_C', { handlers: { PostV1Products: real('c') } }),
    ],
    problem: /Acme_A .*Acme_B .*Acme_C .*each implements handler "PostV1Products"/,
  },
];
for (const c of conflicts) {
  test(`claims: ${c.title} is a load error`, async () => {
    await assert.rejects(load(c.modules), (e: unknown) => e instanceof PluginLoadError && c.problem.test(e.message));
  });
}

function tracer(
  trace: string[],
  name: string,
  target: string,
  sortOrder?: number,
  extra: Partial<Interceptor> = {},
): Interceptor {
  return {
    name,
    target,
    ...(sortOrder === undefined ? {} : { sortOrder }),
    before: () => void trace.push(name),
    ...extra,
  };
}

test('interceptors: `*` and specific targets merge into one ordered chain; own disabled entries are skipped', async () => {
  const trace: string[] = [];
  const registry = await load([
    mod('Acme_Catalog', {
      handlers: {
        PutV1ProductsSku: async () => trace.push('handler'),
        PostV1Products: async () => trace.push('handler'),
      },
      interceptors: [
        tracer(trace, 'audit', '*', 50),
        tracer(trace, 'price_guard', 'PutV1ProductsSku', 10),
        tracer(trace, 'off', '*', 1, { disabled: true }),
      ],
    }),
    mod('Other_Module', { interceptors: [tracer(trace, 'first', '*', -5)] }),
  ]);
  await registry.invoke('PutV1ProductsSku', {}, ctx);
  assert.deepEqual(trace, ['first', 'price_guard', 'audit', 'handler']);
  trace.length = 0;
  await registry.invoke('PostV1Products', {}, ctx);
  assert.deepEqual(trace, ['first', 'audit', 'handler']);
});

test("interceptors: `disabled` with <Plugin>::<name> switches off another plugin's interceptor, everywhere or for one target", async () => {
  const trace: string[] = [];
  const registry = await load([
    mod('Acme_Catalog', {
      handlers: {
        PutV1ProductsSku: async () => trace.push('handler'),
        PostV1Products: async () => trace.push('handler'),
      },
      interceptors: [tracer(trace, 'audit', '*', 10), tracer(trace, 'guard', 'PostV1Products', 20)],
    }),
    mod('Other_Module', {
      interceptors: [
        { name: 'Acme_Catalog::audit', target: 'PutV1ProductsSku', disabled: true },
        { name: 'Acme_Catalog::guard', target: '*', disabled: true },
      ],
    }),
  ]);
  await registry.invoke('PutV1ProductsSku', {}, ctx);
  assert.deepEqual(trace, ['handler']);
  trace.length = 0;
  await registry.invoke('PostV1Products', {}, ctx);
  assert.deepEqual(trace, ['audit', 'handler']);
});

test('interceptors wrap forwarded and stub handlers too', async () => {
  const trace: string[] = [];
  const registry = await load(
    [mod('Acme_Forward', { interceptors: [tracer(trace, 'log', '*')] }, { fallback: fakeFallback })],
    { upstream: { baseUrl: 'http://x' } },
  );
  const { result } = await registry.invoke('PostV1Products', { a: 1 }, ctx);
  assert.equal(result, 'forwarded PostV1Products');
  assert.deepEqual(trace, ['log']);
});
