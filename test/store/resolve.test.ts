import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveStorePath, storeResolver, storesByCode } from '../../src/store/resolve.ts';
import { createStore, type Store } from '../../src/store/stores.ts';
import { createTestDatabase } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';

const STORES: Store[] = [
  { id: 0, code: 'admin', name: 'Admin', websiteId: 0, isActive: true },
  { id: 1, code: 'default', name: 'Default Store View', websiteId: 1, isActive: true },
  { id: 2, code: 'fixturestore', name: 'Fixture', websiteId: 1, isActive: true },
  { id: 3, code: 'closed', name: 'Closed', websiteId: 1, isActive: false },
];

test('resolveStorePath follows Magento PathProcessor', async (t) => {
  const byCode = storesByCode(STORES);
  const cases = [
    { url: '/rest/all/async/V1/x', store: { id: 0, code: 'all', explicit: true }, path: '/async/V1/x' },
    { url: '/rest/async/V1/x', store: { id: 1, code: null, explicit: false }, path: '/async/V1/x' },
    { url: '/rest/default/async/V1/x', store: { id: 1, code: 'default', explicit: true }, path: '/async/V1/x' },
    {
      url: '/rest/fixturestore/async/bulk/V1/x',
      store: { id: 2, code: 'fixturestore', explicit: true },
      path: '/async/bulk/V1/x',
    },
    // Unknown codes stay in the path, so no route matches and the request answers 400.
    { url: '/rest/xx/async/V1/x', store: { id: 1, code: null, explicit: false }, path: '/xx/async/V1/x' },
    // The admin scope is reachable only as `all`.
    { url: '/rest/admin/async/V1/x', store: { id: 1, code: null, explicit: false }, path: '/admin/async/V1/x' },
    // Exact, case-sensitive match.
    { url: '/rest/Default/async/V1/x', store: { id: 1, code: null, explicit: false }, path: '/Default/async/V1/x' },
    { url: '/rest/ALL/async/V1/x', store: { id: 1, code: null, explicit: false }, path: '/ALL/async/V1/x' },
    // An inactive store view is not addressable.
    { url: '/rest/closed/async/V1/x', store: { id: 1, code: null, explicit: false }, path: '/closed/async/V1/x' },
    // Slashes are trimmed as Magento does.
    { url: '/rest/default/async/V1/x/', store: { id: 1, code: 'default', explicit: true }, path: '/async/V1/x' },
    { url: '/rest//async/V1/x', store: { id: 1, code: null, explicit: false }, path: '/async/V1/x' },
    { url: '/rest/all', store: { id: 0, code: 'all', explicit: true }, path: '/' },
    { url: '/rest', store: { id: 1, code: null, explicit: false }, path: '/' },
  ];
  for (const c of cases) {
    await t.test(c.url, () => {
      assert.deepEqual(resolveStorePath(c.url.slice('/rest'.length), byCode), { store: c.store, path: c.path });
    });
  }
});

test('resolveStorePath ignores an admin entry even when the map has one', () => {
  const map = new Map([['admin', { id: 0, code: 'admin' }]]);
  assert.deepEqual(resolveStorePath('/admin/async/V1/x', map).store, { id: 1, code: null, explicit: false });
});

test('storeResolver caches the store list and reloads it after the TTL', async (t) => {
  const db = await createTestDatabase('store_resolver');
  t.after(() => db.drop());
  let clock = 0;
  let queries = 0;
  const pool = new Proxy(db.pool, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (...args: Parameters<typeof target.query>) => {
          queries++;
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const resolver = storeResolver(pool, db.schema, { ttlMs: 1000, now: () => clock });

  assert.equal((await resolver.resolve('/default/async/V1/x')).store.id, 1);
  for (let i = 0; i < 50; i++) await resolver.resolve('/default/async/V1/x');
  assert.equal(queries, 1, 'one query for many requests');

  await createStore(db.pool, db.schema, { code: 'de', name: 'German' });
  assert.equal((await resolver.resolve('/de/async/V1/x')).store.explicit, false, 'not seen before the TTL');

  clock = 1000;
  // The stale list answers while the reload runs in the background.
  assert.equal((await resolver.resolve('/de/async/V1/x')).store.explicit, false);
  await waitFor(
    async () => (await resolver.resolve('/de/async/V1/x')).store.explicit,
    5000,
    'the background reload to bring store de',
  );
  assert.deepEqual((await resolver.resolve('/de/async/V1/x')).store, { id: 2, code: 'de', explicit: true });
  assert.equal(queries, 2);

  await createStore(db.pool, db.schema, { code: 'fr', name: 'French' });
  resolver.invalidate();
  assert.equal((await resolver.resolve('/fr/async/V1/x')).store.id, 3, 'invalidate reloads at once');
  assert.deepEqual(
    (await resolver.stores()).map((s) => s.code),
    ['admin', 'default', 'de', 'fr'],
  );
});
