/**
 * Batch handlers in the registry: when an operationId gets a batch chain at all, and what the chain
 * runs around the batch handler (each operation's befores and afters, as its single run would).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  definePlugin,
  OperationError,
  type BatchHandler,
  type BatchOutcome,
  type Interceptor,
} from '../../src/plugin.ts';
import { BatchShapeError } from '../../src/plugins/batch-chain.ts';
import { loadPlugins, PluginLoadError } from '../../src/plugins/loader.ts';
import { context, NO_CODE, route, silentLog } from './fixtures.ts';

const routes = [
  route('PUT', '/V1/products/{sku}', 'PutV1ProductsSku'),
  route('POST', '/V1/products', 'PostV1Products'),
];
const tx = { query: async () => ({ rows: [], rowCount: 0 }) };
const OP = 'PutV1ProductsSku';

function mod(name: string, extra: Record<string, unknown> = {}) {
  return { source: `test:${name}`, module: { default: definePlugin({ name, compatibility: '^1.0.0', ...extra }) } };
}
const load = (modules: ReturnType<typeof mod>[]) =>
  loadPlugins({ routes, pluginsDir: null, modules, frameworkVersion: '1.0.0' });

/** Succeeds with `<sku>!` per operation, fails those whose sku is `bad`. */
const echoBatch: BatchHandler<{ sku: string }> = async (ops) =>
  ops.map((o) =>
    o.args.sku.toLowerCase() === 'bad'
      ? { ok: false, error: new OperationError('bad sku') }
      : { ok: true, result: `${o.args.sku}!` },
  );
const catalog = (interceptors: Interceptor[] = [], name = 'Acme_Catalog') =>
  mod(name, { handlers: { [OP]: async () => 'single' }, batchHandlers: { [OP]: echoBatch }, interceptors });

const eligibility: { title: string; modules: ReturnType<typeof mod>[]; batches: boolean }[] = [
  { title: 'a batch handler beside its single handler', modules: [catalog()], batches: true },
  {
    title: 'befores and afters (of any plugin) keep the batch',
    modules: [
      catalog([{ name: 'b', target: OP, before: () => {} }]),
      mod('Other_Audit', { interceptors: [{ name: 'a', target: '*', after: (r: unknown) => r }] }),
    ],
    batches: true,
  },
  {
    title: 'an around on the operation runs it singly',
    modules: [
      catalog(),
      mod('Other_Timing', {
        interceptors: [{ name: 't', target: OP, around: (next: (a: unknown) => unknown, a: unknown) => next(a) }],
      }),
    ],
    batches: false,
  },
  {
    title: 'a `*` around runs it singly',
    modules: [catalog([{ name: 't', target: '*', around: (next: (a: unknown) => unknown, a: unknown) => next(a) }])],
    batches: false,
  },
  {
    title: 'a `*` around switched off for the operation keeps the batch',
    modules: [
      catalog([{ name: 't', target: '*', around: (next: (a: unknown) => unknown, a: unknown) => next(a) }]),
      mod('Other_Module', { interceptors: [{ name: 'Acme_Catalog::t', target: OP, disabled: true }] }),
    ],
    batches: true,
  },
  {
    title: "a replaced plugin's batch handler is not used",
    modules: [
      catalog(),
      mod('Better_Catalog', { handlers: { [OP]: async () => 'better' }, replaces: ['Acme_Catalog'] }),
    ],
    batches: false,
  },
  {
    title: "the replacing plugin's batch handler is used",
    modules: [
      mod('Acme_Catalog', { handlers: { [OP]: async () => 'acme' } }),
      mod('Better_Catalog', {
        handlers: { [OP]: async () => 'b' },
        batchHandlers: { [OP]: echoBatch },
        replaces: ['Acme_Catalog'],
      }),
    ],
    batches: true,
  },
];
for (const c of eligibility) {
  test(`eligibility: ${c.title}`, async () => {
    const registry = await load(c.modules);
    assert.equal(registry.batch(OP) !== null, c.batches);
    assert.equal(registry.batch('PostV1Products'), null, 'an operation without a batch handler never batches');
  });
}

test('loader: a batch handler needs a single handler of its plugin, and must be a function', async () => {
  await assert.rejects(
    load([
      mod('Acme_Catalog', {
        batchHandlers: { [OP]: echoBatch, PostV1Products: 'nope' },
        handlers: { PostV1Products: async () => 1 },
      }),
    ]),
    (e: unknown) =>
      e instanceof PluginLoadError &&
      e.problems.some((p) => p.includes(`batch handler "${OP}" has no handler of the same plugin beside it`)) &&
      e.problems.some((p) => p.includes('batch handler "PostV1Products" is not a function')),
  );
});

const run = async (registry: Awaited<ReturnType<typeof load>>, skus: string[]) => {
  const batch = registry.batch(OP)!;
  const outcomes = await batch.run(
    skus.map((sku, key) => ({
      args: { sku },
      ctx: { ...context(tx, NO_CODE, OP), operation: { ...context(tx, NO_CODE, OP).operation, key } },
    })),
    { tx, operationId: OP, signal: new AbortController().signal, log: silentLog },
  );
  return {
    handler: batch.handler,
    outcomes: outcomes.map((o: BatchOutcome) => (o.ok ? o.result : (o.error as Error).message)),
  };
};

test('the chain: each operation its befores in order, one batch call, its afters in descending order', async () => {
  const trace: string[] = [];
  const registry = await load([
    catalog([
      {
        name: 'upper',
        target: OP,
        sortOrder: 10,
        before: (a: { sku: string }, c) => (trace.push(`upper ${c.operation.key}`), { sku: a.sku.toUpperCase() }),
      },
      { name: 'keep', target: '*', sortOrder: 20, before: (_a, c) => void trace.push(`keep ${c.operation.key}`) },
      {
        name: 'first',
        target: OP,
        sortOrder: 10,
        after: (r: unknown, a: { sku: string }) => (trace.push(`first ${a.sku}`), `${String(r)}1`),
      },
      { name: 'second', target: OP, sortOrder: 20, after: (r: unknown) => `${String(r)}2` },
    ]),
  ]);
  assert.deepEqual(await run(registry, ['a', 'bad', 'c']), {
    handler: 'Acme_Catalog::PutV1ProductsSku',
    outcomes: ['A!21', 'bad sku', 'C!21'],
  });
  assert.deepEqual(trace, ['upper 0', 'keep 0', 'upper 1', 'keep 1', 'upper 2', 'keep 2', 'first A', 'first C']);
});

test('an interceptor that throws, or a batch with the wrong number of outcomes, throws the whole batch', async () => {
  const throwing = await load([
    catalog([
      {
        name: 'picky',
        target: OP,
        after: (r: unknown, a: { sku: string }) => {
          if (a.sku === 'b') throw new Error('no b');
          return r;
        },
      },
    ]),
  ]);
  await assert.rejects(run(throwing, ['a', 'b']), /no b/);
  const short = await load([
    mod('Acme_Catalog', {
      handlers: { [OP]: async () => 1 },
      batchHandlers: {
        [OP]: (async (ops: readonly unknown[]) => ops.slice(1).map(() => ({ ok: true, result: 1 }))) as BatchHandler,
      },
    }),
  ]);
  await assert.rejects(
    run(short, ['a', 'b']),
    (e: unknown) => e instanceof BatchShapeError && /returned 1 outcomes for 2 operations/.test((e as Error).message),
  );
});
