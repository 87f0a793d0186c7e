import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, isAllowed } from '../../src/auth/acl.ts';
import type { Caller } from '../../src/kernel/caller.ts';
import { GUEST } from '../../src/auth/tokens.ts';
import { WebapiError } from '../../src/errors/catalogue.ts';

const ALL: Caller = { userType: 1, userId: 1, resources: 'all', tokenName: 'all' };
const PRODUCTS: Caller = { userType: 1, userId: 2, resources: new Set(['Magento_Catalog::products']), tokenName: 'p' };
const P = 'Magento_Catalog::products';
const C = 'Magento_Cms::page';

test('isAllowed: anonymous passes, all grants everything, otherwise every resource must be granted', async (t) => {
  const cases: { name: string; caller: Caller; acl: string[]; allowed: boolean }[] = [
    { name: 'guest on anonymous route', caller: GUEST, acl: ['anonymous'], allowed: true },
    { name: 'token on anonymous route', caller: PRODUCTS, acl: ['anonymous'], allowed: true },
    { name: 'guest on protected route', caller: GUEST, acl: [P], allowed: false },
    { name: 'all on any route', caller: ALL, acl: [P, C], allowed: true },
    { name: 'granted resource', caller: PRODUCTS, acl: [P], allowed: true },
    { name: 'missing resource', caller: PRODUCTS, acl: [C], allowed: false },
    { name: 'one of two resources is not enough', caller: PRODUCTS, acl: [P, C], allowed: false },
    { name: 'empty ACL: not public', caller: GUEST, acl: [], allowed: false },
    { name: 'empty ACL: any token', caller: PRODUCTS, acl: [], allowed: true },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.equal(isAllowed(c.caller, c.acl), c.allowed));
  }
});

test("authorize throws Magento's 401 with the route's resources", async (t) => {
  const cases: { acl: string[]; resources: string }[] = [
    { acl: [P], resources: P },
    // Magento's RequestValidator joins with ', '.
    { acl: [P, C], resources: `${P}, ${C}` },
  ];
  for (const c of cases) {
    await t.test(c.resources, () => {
      assert.throws(
        () => authorize(GUEST, c.acl),
        (error: unknown) => {
          assert.ok(error instanceof WebapiError);
          assert.equal(error.status, 401);
          assert.equal(error.definition.template, "The consumer isn't authorized to access %resources.");
          assert.deepEqual(error.parameters, { resources: c.resources });
          return true;
        },
      );
    });
  }
  assert.doesNotThrow(() => authorize(PRODUCTS, [P]));
});
