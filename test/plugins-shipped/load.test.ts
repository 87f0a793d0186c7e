/**
 * Which plugin runs each operation of a fresh project: the examples run only when enabled, an
 * upstream gets everything no enabled plugin implements, and a spec without the examples'
 * operations starts beside them all the same (their handlers apply to the operations it has).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlugins, PluginLoadError } from '../../src/plugins/loader.ts';
import type { Route } from '../../src/routes/types.ts';
import { route, sampleRoutes } from '../plugins/fixtures.ts';

const UPSTREAM = { baseUrl: 'http://store.example/rest' };
const ALL = ['catalog', 'customer', 'cms'];
/** A spec with none of the examples' operations. */
const ORDERS_ONLY: readonly Route[] = [route('POST', '/V1/orders/{id}/hold', 'PostV1OrdersIdHold')];
const PLUGIN_OF: Record<string, string> = {
  catalog: 'Magento_Catalog',
  customer: 'Magento_Customer',
  cms: 'Magento_Cms',
};
const EXAMPLE_OPERATIONS = ['PutV1ProductsSku', 'PostV1Customers', 'DeleteV1CmsPagePageId'];

function emptyFolder(): string {
  return mkdtempSync(join(tmpdir(), 'fresh-plugins-'));
}

/** `handler` of describe(): which plugin would run the operation, or null for none. */
const cases: {
  name: string;
  examples: string[];
  upstream: boolean;
  routes: readonly Route[];
  expect: Record<string, string | null>;
}[] = [
  {
    name: 'examples off, no upstream: nothing runs the examples’ operations',
    examples: [],
    upstream: false,
    routes: sampleRoutes,
    expect: { PutV1ProductsSku: null, PostV1Customers: null, DeleteV1CmsPagePageId: null },
  },
  {
    name: 'examples off, upstream: the real store gets product, customer and CMS operations',
    examples: [],
    upstream: true,
    routes: sampleRoutes,
    expect: {
      PutV1ProductsSku: 'MagentoAsync_HttpForward',
      PostV1Customers: 'MagentoAsync_HttpForward',
      DeleteV1CmsPagePageId: 'MagentoAsync_HttpForward',
    },
  },
  {
    name: 'examples on, no upstream: the examples run their operations',
    examples: ALL,
    upstream: false,
    routes: sampleRoutes,
    expect: {
      PutV1ProductsSku: 'Magento_Catalog',
      PostV1Customers: 'Magento_Customer',
      DeleteV1CmsPagePageId: 'Magento_Cms',
    },
  },
  {
    name: 'examples on, upstream: enabled on purpose, they run theirs; the rest is forwarded',
    examples: ['catalog'],
    upstream: true,
    routes: sampleRoutes,
    expect: {
      PutV1ProductsSku: 'Magento_Catalog',
      PostV1Customers: 'MagentoAsync_HttpForward',
      DeleteV1CmsPagePageId: 'MagentoAsync_HttpForward',
    },
  },
  ...[false, true].flatMap((upstream) =>
    [[], ALL].map((examples) => ({
      name: `spec without the examples' operations, examples ${examples.length ? 'on' : 'off'}, upstream ${upstream ? 'on' : 'off'}: loads`,
      examples,
      upstream,
      routes: ORDERS_ONLY,
      expect: { PostV1OrdersIdHold: upstream ? 'MagentoAsync_HttpForward' : null },
    })),
  ),
];

describe('a fresh project (empty plugins folder)', () => {
  for (const c of cases) {
    it(c.name, async (t) => {
      const dir = emptyFolder();
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const registry = await loadPlugins({
        routes: c.routes,
        pluginsDir: dir,
        examples: c.examples,
        upstream: c.upstream ? UPSTREAM : undefined,
      });
      const got = Object.fromEntries(
        Object.keys(c.expect).map((id) => [id, registry.describe(id)?.handler.split('::')[0] ?? null]),
      );
      assert.deepEqual(got, c.expect);
      for (const id of EXAMPLE_OPERATIONS.filter((id) => !(id in c.expect)))
        assert.equal(registry.describe(id), null, `${id} is not in this spec`);
      // An example enabled beside an upstream keeps operations from the store: the start log says so.
      const warned = registry.notes.filter((n) => /on local tables although an upstream/.test(n));
      assert.equal(
        warned.length,
        c.upstream && c.routes !== ORDERS_ONLY ? c.examples.length : 0,
        registry.notes.join('\n'),
      );
      // Only enabled examples bring tables.
      assert.deepEqual(
        [...new Set(registry.installs.map((i) => i.plugin))].sort(),
        c.examples.map((e) => PLUGIN_OF[e]).sort(),
      );
    });
  }

  it('an unknown example is a load error naming the shipped ones', async () => {
    await assert.rejects(
      loadPlugins({ routes: sampleRoutes, pluginsDir: null, examples: ['catalgo'] }),
      (e: unknown) =>
        e instanceof PluginLoadError &&
        /plugins.examples: "catalgo" is not a shipped example \(there are: catalog, customer, cms\)/.test(e.message),
    );
  });
});
