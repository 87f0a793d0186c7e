/**
 * Pins Magento's interceptor order (PluginList::_inheritPlugins + Interceptor::___callPlugins) for
 * mixed stacks. Each case lists interceptors and the exact trace they must produce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HandlerContext, Interceptor } from '../../src/plugin.ts';
import { compileChain, sortInterceptors, type OwnedInterceptor } from '../../src/plugins/pipeline.ts';

type Kind = 'before' | 'around' | 'after';
interface Spec {
  name: string;
  sortOrder?: number;
  kinds: Kind[];
  plugin?: string;
}

const ctx = {} as HandlerContext;

function build(specs: Spec[], trace: string[]): OwnedInterceptor[] {
  return specs.map((s) => {
    const i: Interceptor = {
      name: s.name,
      target: 'Op',
      ...(s.sortOrder === undefined ? {} : { sortOrder: s.sortOrder }),
    };
    if (s.kinds.includes('before')) i.before = () => void trace.push(`${s.name}.before`);
    if (s.kinds.includes('around')) {
      i.around = async (next, args) => {
        trace.push(`${s.name}.around[`);
        const r = await next(args);
        trace.push(`]${s.name}.around`);
        return r;
      };
    }
    if (s.kinds.includes('after')) i.after = (r) => (trace.push(`${s.name}.after`), r);
    return { plugin: s.plugin ?? 'Test_Plugin', interceptor: i };
  });
}

const all: Kind[] = ['before', 'around', 'after'];
const cases: { title: string; specs: Spec[]; trace: string[] }[] = [
  { title: 'no interceptors', specs: [], trace: ['handler'] },
  {
    title: 'only befores run in ascending sortOrder',
    specs: [
      { name: 'B', sortOrder: 20, kinds: ['before'] },
      { name: 'A', sortOrder: 10, kinds: ['before'] },
    ],
    trace: ['A.before', 'B.before', 'handler'],
  },
  {
    title: 'only afters run in descending sortOrder (the lowest last)',
    specs: [
      { name: 'A', sortOrder: 10, kinds: ['after'] },
      { name: 'B', sortOrder: 20, kinds: ['after'] },
    ],
    trace: ['handler', 'B.after', 'A.after'],
  },
  {
    title: 'two full plugins nest: the second runs inside the first around',
    specs: [
      { name: 'A', sortOrder: 10, kinds: all },
      { name: 'B', sortOrder: 20, kinds: all },
    ],
    trace: [
      'A.before',
      'A.around[',
      'B.before',
      'B.around[',
      'handler',
      ']B.around',
      'B.after',
      ']A.around',
      'A.after',
    ],
  },
  {
    title: "Magento's documented example (A before+after, B and C full)",
    specs: [
      { name: 'A', sortOrder: 10, kinds: ['before', 'after'] },
      { name: 'B', sortOrder: 20, kinds: all },
      { name: 'C', sortOrder: 30, kinds: all },
    ],
    trace: [
      'A.before',
      'B.before',
      'B.around[',
      'C.before',
      'C.around[',
      'handler',
      ']C.around',
      'C.after',
      ']B.around',
      'B.after',
      'A.after',
    ],
  },
  {
    title: 'before/after of a later plugin run inside an earlier around',
    specs: [
      { name: 'A', sortOrder: 10, kinds: ['around'] },
      { name: 'B', sortOrder: 20, kinds: ['before', 'after'] },
    ],
    trace: ['A.around[', 'B.before', 'handler', 'B.after', ']A.around'],
  },
  {
    title: 'afters of one segment: the around owner after later plugins',
    specs: [
      { name: 'A', sortOrder: 10, kinds: ['before', 'after'] },
      { name: 'B', sortOrder: 20, kinds: ['before', 'after'] },
      { name: 'C', sortOrder: 30, kinds: ['around'] },
      { name: 'D', sortOrder: 40, kinds: ['after'] },
      { name: 'E', sortOrder: 50, kinds: ['after'] },
    ],
    trace: ['A.before', 'B.before', 'C.around[', 'handler', 'E.after', 'D.after', ']C.around', 'B.after', 'A.after'],
  },
  {
    title: 'equal sortOrder: name breaks the tie; missing sortOrder is 0',
    specs: [
      { name: 'zeta', sortOrder: 5, kinds: ['before'] },
      { name: 'alpha', sortOrder: 5, kinds: ['before'] },
      { name: 'none', kinds: ['before'] },
      { name: 'negative', sortOrder: -1, kinds: ['before'] },
    ],
    trace: ['negative.before', 'none.before', 'alpha.before', 'zeta.before', 'handler'],
  },
];

for (const c of cases) {
  test(`order: ${c.title}`, async () => {
    const trace: string[] = [];
    const run = compileChain(build(c.specs, trace), async () => {
      trace.push('handler');
      return 'r';
    });
    assert.equal(await run({}, ctx), 'r');
    assert.deepEqual(trace, c.trace);
  });
}

test('same name in two plugins: plugin name breaks the tie', () => {
  const sorted = sortInterceptors([
    { plugin: 'Vendor_B', interceptor: { name: 'x', target: 'Op' } },
    { plugin: 'Vendor_A', interceptor: { name: 'x', target: 'Op' } },
  ]);
  assert.deepEqual(
    sorted.map((o) => o.plugin),
    ['Vendor_A', 'Vendor_B'],
  );
});

test('arguments and results flow: before rewrites, undefined keeps, after sees its segment args', async () => {
  const seen: unknown[] = [];
  const chain: OwnedInterceptor[] = [
    {
      plugin: 'P_P',
      interceptor: { name: 'a', target: 'Op', sortOrder: 1, before: (args: { n: number }) => ({ n: args.n + 1 }) },
    },
    { plugin: 'P_P', interceptor: { name: 'b', target: 'Op', sortOrder: 2, before: () => undefined } },
    {
      plugin: 'P_P',
      interceptor: {
        name: 'c',
        target: 'Op',
        sortOrder: 3,
        around: (next, args: { n: number }) => next({ n: args.n * 10 }),
        after: (result, args: { n: number }) => (seen.push(args.n), (result as number) + 1),
      },
    },
    {
      plugin: 'P_P',
      interceptor: {
        name: 'd',
        target: 'Op',
        sortOrder: 4,
        after: (result, args: { n: number }) => (seen.push(args.n), (result as number) * 2),
      },
    },
  ];
  const run = compileChain(chain, async (args) => (args as { n: number }).n);
  // n: 1 → a: 2 → c.around: 20 → handler 20 → d.after (args 20): 40 → c.after (args 2): 41
  assert.equal(await run({ n: 1 }, ctx), 41);
  assert.deepEqual(seen, [20, 2]);
});

test('an around that does not call next short-circuits the handler and inner interceptors', async () => {
  const trace: string[] = [];
  const chain = build([{ name: 'B', sortOrder: 2, kinds: ['before'] }], trace);
  chain.push({ plugin: 'P_P', interceptor: { name: 'A', target: 'Op', sortOrder: 1, around: () => 'cached' } });
  const run = compileChain(chain, async () => trace.push('handler'));
  assert.equal(await run({}, ctx), 'cached');
  assert.deepEqual(trace, []);
});

test('next() without arguments passes on the arguments the around received', async () => {
  const run = compileChain(
    [{ plugin: 'P_P', interceptor: { name: 'a', target: 'Op', around: (next) => (next as () => Promise<unknown>)() } }],
    async (args) => args,
  );
  assert.deepEqual(await run({ k: 1 }, ctx), { k: 1 });
});
