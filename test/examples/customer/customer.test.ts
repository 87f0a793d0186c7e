import { test } from 'node:test';
import assert from 'node:assert/strict';
import customer, * as customerModule from '../../../examples/customer/index.ts';
import { verifyPassword } from '../../../examples/customer/password.ts';
import { OperationError } from '../../../src/plugin.ts';
import { NO_CODE, SECOND } from '../../plugins/fixtures.ts';
import { pluginDatabase } from '../support.ts';

const create = customer.handlers!.PostV1Customers!;
const DUPLICATE = 'A customer with the same email address already exists in an associated website.';

test("the seed's four customers: the duplicate fails with Magento's message, its siblings complete", async (t) => {
  const { run } = await pluginDatabase(t, 'customer', [customerModule]);
  const inputs = [
    { customer: { email: 'mshaw@example.com', firstname: 'Melanie', lastname: 'Shaw' }, password: 'Secret-Pass1' },
    { customer: { email: 'bmartin@example.com', firstname: 'Bryce', lastname: 'Martin' } },
    { customer: { email: 'MSHAW@example.com', firstname: 'Melanie', lastname: 'Again' } },
    { customer: { email: 'tgomez@example.com', firstname: 'Teresa', lastname: 'Gomez' } },
  ];
  const outcomes: string[] = [];
  for (const args of inputs) {
    try {
      const saved = (await run(NO_CODE, async (ctx) => create(args, ctx))) as Record<string, unknown>;
      outcomes.push(`1 ${saved.email} store ${saved.store_id} website ${saved.website_id} in ${saved.created_in}`);
    } catch (error) {
      assert.ok(error instanceof OperationError);
      outcomes.push(`3 ${error.message} (code ${error.errorCode})`);
    }
  }
  assert.deepEqual(outcomes, [
    '1 mshaw@example.com store 1 website 1 in Default Store View',
    '1 bmartin@example.com store 1 website 1 in Default Store View',
    `3 ${DUPLICATE} (code 0)`,
    '1 tgomez@example.com store 1 website 1 in Default Store View',
  ]);
  const hash = await run(
    NO_CODE,
    async (ctx) =>
      (
        await ctx.tx.query<{ password_hash: string }>(
          `SELECT password_hash FROM customer_entity WHERE email = 'mshaw@example.com'`,
        )
      ).rows[0]!.password_hash,
  );
  assert.match(hash, /^scrypt\$/);
  assert.equal(await verifyPassword('Secret-Pass1', hash), true);
  assert.equal(await verifyPassword('wrong', hash), false);
});

test('store scope, response shape and password rules', async (t) => {
  const { run } = await pluginDatabase(t, 'customer_scope', [customerModule]);
  const saved = (await run(SECOND, async (ctx) =>
    create({ customer: { email: 'a@example.com', firstname: 'A', lastname: 'B' } }, ctx),
  )) as Record<string, unknown>;
  assert.deepEqual(Object.keys(saved), [
    'id',
    'group_id',
    'created_at',
    'updated_at',
    'created_in',
    'email',
    'firstname',
    'lastname',
    'store_id',
    'website_id',
    'addresses',
    'disable_auto_group_change',
    'extension_attributes',
  ]);
  assert.equal(saved.store_id, 2);
  assert.equal(saved.created_in, 'Second Store View');
  const rules: [password: string, message: RegExp][] = [
    ['short1A', /^The password needs at least 8 characters/],
    ['alllowercase', /^Minimum of different classes of characters in password is 3/],
    ['B@example.com', /^The password can't be the same as the email address/],
  ];
  for (const [password, message] of rules) {
    await assert.rejects(
      run(NO_CODE, async (ctx) =>
        create({ customer: { email: 'b@example.com', firstname: 'B', lastname: 'B' }, password }, ctx),
      ),
      (e: unknown) => e instanceof OperationError && message.test(e.message),
    );
  }
});
