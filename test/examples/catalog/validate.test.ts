/**
 * The catalog's checks (`validate`): a validate-only bulk learns which items Magento would refuse
 * (a delete of a sku that does not exist, a sku longer than 64 characters, a negative price)
 * before it is sent, and the same items fail with the same message when sent anyway.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import * as catalog from '../../../examples/catalog/index.ts';
import { NEGATIVE_PRICE, NO_SUCH_PRODUCT, SKU_TOO_LONG } from '../../../examples/catalog/product.ts';
import { STATUS, startTestKit, type TestKit } from '../../../src/testing/index.ts';

describe('the catalog’s checks', () => {
  let kit: TestKit;
  before(async () => {
    kit = await startTestKit({ plugins: [catalog] });
    await kit.run('PostV1Products', { product: { sku: 'exists', name: 'Bag', price: 10 } });
  });
  after(() => kit.close());

  const verdicts = (items: { status: string; error_message?: string }[]) =>
    items.map((i) => (i.status === 'accepted' ? 'accepted' : i.error_message));

  test('deletes: a sku that does not exist is refused before the bulk is sent, and fails when sent', async () => {
    const bulk = [{ sku: 'exists' }, { sku: 'missing' }];
    assert.deepEqual(verdicts(await kit.validate('DeleteV1ProductsSku', bulk)), ['accepted', NO_SUCH_PRODUCT]);
    const outcomes = await kit.runBulk('DeleteV1ProductsSku', bulk);
    assert.deepEqual(
      outcomes.map((o) => [o.status, o.message]),
      [
        [STATUS.COMPLETE, 'Service execution success Magento_Catalog::DeleteV1ProductsSku'],
        [STATUS.FAILED, NO_SUCH_PRODUCT],
      ],
    );
  });

  test('saves: what ProductRepository::save refuses (sku length, negative price) is refused, the rest passes', async () => {
    const cases: [args: Record<string, unknown>, verdict: string][] = [
      [{ product: { sku: 's'.repeat(64), price: 0 } }, 'accepted'],
      [{ product: { sku: 'é'.repeat(64) } }, 'accepted'],
      [{ product: { sku: 's'.repeat(65) } }, SKU_TOO_LONG],
      [{ product: { sku: 'cheap', price: -0.01 } }, NEGATIVE_PRICE],
      [{ product: { sku: 'custom', custom_attributes: [{ attribute_code: 'price', value: '-3' }] } }, NEGATIVE_PRICE],
    ];
    const items = await kit.validate(
      'PostV1Products',
      cases.map(([args]) => args),
    );
    assert.deepEqual(
      verdicts(items),
      cases.map(([, verdict]) => verdict),
    );
    const outcomes = await kit.runBulk(
      'PostV1Products',
      cases.map(([args]) => args),
    );
    assert.deepEqual(
      outcomes.map((o) => (o.status === STATUS.COMPLETE ? 'accepted' : o.message)),
      cases.map(([, verdict]) => verdict),
    );
  });

  test('a PUT is checked with the URL’s sku, as it is saved', async () => {
    const items = await kit.validate('PutV1ProductsSku', [
      { sku: 'x'.repeat(65), product: { sku: 'short', name: 'Long' } },
    ]);
    assert.deepEqual(verdicts(items), [SKU_TOO_LONG]);
  });
});
