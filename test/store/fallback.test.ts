import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeTargets, type WriteKind } from '../../src/store/fallback.ts';
import type { StoreScope } from '../../src/plugin.ts';

// Store views as the store list gives them; the admin row is ignored and re-added by the rules.
const VIEWS = [{ id: 0 }, { id: 3 }, { id: 1 }, { id: 2 }];

const NO_CODE: StoreScope = { id: 1, code: null, explicit: false };
const ALL: StoreScope = { id: 0, code: 'all', explicit: true };
const DEFAULT: StoreScope = { id: 1, code: 'default', explicit: true };
const FIXTURE: StoreScope = { id: 2, code: 'fixturestore', explicit: true };

test('the four fallback rules of CONTRACT §6', async (t) => {
  const cases: { name: string; scope: StoreScope; kind: WriteKind; expected: ReturnType<typeof writeTargets> }[] = [
    {
      name: '1. create without store code: globally, every scope',
      scope: NO_CODE,
      kind: 'create',
      expected: { mode: 'global', storeIds: [0, 1, 2, 3], rule: 'create-without-store' },
    },
    {
      name: '2. update without store code: the default store view only',
      scope: NO_CODE,
      kind: 'update',
      expected: { mode: 'only', storeIds: [1], rule: 'update-without-store' },
    },
    {
      name: '3. all (update): all store views without their own value',
      scope: ALL,
      kind: 'update',
      expected: { mode: 'fill-missing', storeIds: [0, 1, 2, 3], rule: 'all-store-views' },
    },
    {
      name: '3. all (create): same rule',
      scope: ALL,
      kind: 'create',
      expected: { mode: 'fill-missing', storeIds: [0, 1, 2, 3], rule: 'all-store-views' },
    },
    {
      name: '4. store code (update): that store view only',
      scope: FIXTURE,
      kind: 'update',
      expected: { mode: 'only', storeIds: [2], rule: 'one-store' },
    },
    {
      name: '4. store code (create): that store view only',
      scope: FIXTURE,
      kind: 'create',
      expected: { mode: 'only', storeIds: [2], rule: 'one-store' },
    },
    {
      name: '4. an explicit `default` is a store code like any other',
      scope: DEFAULT,
      kind: 'create',
      expected: { mode: 'only', storeIds: [1], rule: 'one-store' },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(writeTargets(c.scope, c.kind, VIEWS), c.expected);
    });
  }
});

test('with no store views listed, global and fill-missing still include the admin scope', () => {
  assert.deepEqual(writeTargets(NO_CODE, 'create', []).storeIds, [0]);
  assert.deepEqual(writeTargets(ALL, 'update', []).storeIds, [0]);
});
