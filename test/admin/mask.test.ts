/** What the dashboard shows of an operation's input: secrets masked at any depth, the rest as stored. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error: plain browser JavaScript without type declarations.
import { maskedInput, MASK } from '../../src/admin/assets/mask.js';

const stored = (meta: unknown) => JSON.stringify({ entity_id: null, meta_information: JSON.stringify(meta) });

test('secret-looking keys are masked at any depth; other values are shown as stored', () => {
  const cases: { name: string; meta: unknown; shown: unknown }[] = [
    {
      name: 'a customer password',
      meta: { customer: { email: 'a@example.com' }, password: 'Secret123!' },
      shown: { customer: { email: 'a@example.com' }, password: MASK },
    },
    {
      name: 'tokens and keys in arrays of objects',
      meta: {
        items: [
          { sku: 's', api_key: 'k' },
          { access_token: 't', qty: 2 },
        ],
      },
      shown: {
        items: [
          { sku: 's', api_key: MASK },
          { access_token: MASK, qty: 2 },
        ],
      },
    },
    {
      name: 'an object under a secret key is masked inside',
      meta: { credit_card: { number: '4111', exp: { month: 1 } } },
      shown: { credit_card: { number: MASK, exp: { month: MASK } } },
    },
    { name: 'null stays null', meta: { password: null }, shown: { password: null } },
    {
      name: 'nothing secret',
      meta: { product: { sku: 'x', price: 9.5 } },
      shown: { product: { sku: 'x', price: 9.5 } },
    },
  ];
  for (const c of cases) {
    const shown = JSON.parse(maskedInput(stored(c.meta)));
    assert.deepEqual(shown, { entity_id: null, meta_information: c.shown }, c.name);
  }
});

test('input that is missing or not JSON is said to be so', () => {
  assert.equal(maskedInput(null), '(none)');
  assert.equal(maskedInput('{nope'), '(not JSON)');
});
