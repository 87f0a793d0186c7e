/** The shipped plugins load together with the generated stubs of the sample spec, and win. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPlugins } from '../../src/plugins/loader.ts';
import type { Route } from '../../src/routes/types.ts';
import { sampleRoutes } from '../plugins/fixtures.ts';

const generated = new URL('../../src/generated/routes.gen.ts', import.meta.url);
const routes: readonly Route[] = existsSync(generated)
  ? ((await import(generated.href)) as { routes: readonly Route[] }).routes
  : sampleRoutes;
const pluginsDir = fileURLToPath(new URL('../../plugins', import.meta.url));

test(
  'plugins/ loads; shipped handlers beat stubs; installs come from catalog, cms, customer',
  { skip: !existsSync(generated) && 'needs codegen output (stubs import it)' },
  async () => {
    const registry = await loadPlugins({ routes, pluginsDir });
    const kinds = Object.fromEntries(routes.map((r) => [r.operationId, registry.describe(r.operationId)?.handler]));
    assert.equal(kinds.PostV1Products, 'Magento_Catalog::PostV1Products');
    assert.equal(kinds.PutV1ProductsSku, 'Magento_Catalog::PutV1ProductsSku');
    assert.equal(kinds.DeleteV1ProductsSku, 'Magento_Catalog::DeleteV1ProductsSku');
    assert.equal(kinds.PostV1Customers, 'Magento_Customer::PostV1Customers');
    assert.equal(kinds.DeleteV1CmsPagePageId, 'Magento_Cms::DeleteV1CmsPagePageId');
    assert.equal(registry.describe('PostV1ProductsSkuMedia')?.kind, 'stub');
    assert.deepEqual(
      [...new Set(registry.installs.map((i) => i.plugin))],
      ['Magento_Catalog', 'Magento_Cms', 'Magento_Customer'],
    );

    const forwarding = await loadPlugins({ routes, pluginsDir, upstream: { baseUrl: 'http://store.example/rest' } });
    assert.equal(
      forwarding.describe('PostV1ProductsSkuMedia')?.handler,
      'MagentoAsync_HttpForward::PostV1ProductsSkuMedia',
    );
    assert.equal(forwarding.describe('PostV1Products')?.kind, 'handler');
  },
);
