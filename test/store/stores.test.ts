import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, InvalidStoreError, listStores, validateNewStore } from '../../src/store/stores.ts';
import { createTestDatabase } from '../support/db.ts';

test('validateNewStore applies Magento code rules', async (t) => {
  const cases: { code: string; name?: string; websiteId?: number; problem: RegExp | null }[] = [
    { code: 'de', problem: null },
    { code: 'store_2', problem: null },
    { code: 'a'.repeat(32), problem: null },
    { code: 'a'.repeat(33), problem: /too long/ },
    { code: '', problem: /required/ },
    { code: '2de', problem: /must start with a letter/ },
    { code: '_de', problem: /must start with a letter/ },
    { code: 'De', problem: /invalid/ },
    { code: 'de-at', problem: /invalid/ },
    { code: 'all', problem: /reserved/ },
    { code: 'admin', problem: /reserved/ },
    { code: 'default', problem: /reserved/ },
    { code: 'de', name: '  ', problem: /name is required/ },
    { code: 'de', websiteId: 0, problem: /website id/ },
  ];
  for (const c of cases) {
    await t.test(`${JSON.stringify(c.code)} ${c.name ?? ''} ${c.websiteId ?? ''}`, () => {
      const problem = validateNewStore({ code: c.code, name: c.name ?? 'Name', websiteId: c.websiteId ?? 1 });
      if (c.problem === null) assert.equal(problem, null);
      else assert.match(problem ?? '', c.problem);
    });
  }
});

test('createStore takes the next free id and refuses duplicates', async (t) => {
  const db = await createTestDatabase('stores');
  t.after(() => db.drop());
  const de = await createStore(db.pool, db.schema, { code: 'de', name: 'German', websiteId: 2 });
  assert.deepEqual(de, { id: 2, code: 'de', name: 'German', websiteId: 2, isActive: true });
  await assert.rejects(createStore(db.pool, db.schema, { code: 'de', name: 'Again' }), InvalidStoreError);
  await assert.rejects(createStore(db.pool, db.schema, { code: 'Bad', name: 'x' }), /invalid/);

  // Concurrent creates get distinct ids instead of a primary-key error.
  const many = await Promise.all(
    ['s1', 's2', 's3', 's4', 's5'].map((code) => createStore(db.pool, db.schema, { code, name: code })),
  );
  assert.deepEqual(many.map((s) => s.id).sort(), [3, 4, 5, 6, 7]);

  const all = await listStores(db.pool, db.schema);
  assert.deepEqual(
    all.map((s) => [s.id, s.code]),
    [
      [0, 'admin'],
      [1, 'default'],
      [2, 'de'],
      ...many.map((s) => [s.id, s.code]).sort((a, b) => Number(a[0]) - Number(b[0])),
    ],
  );
});
