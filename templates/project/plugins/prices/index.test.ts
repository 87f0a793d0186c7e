// The plugin's test: the test kit runs each operation through a real server, queue and consumer
// (on an embedded PostgreSQL unless DATABASE_URL is set). `npm test` runs every *.test.ts.
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { STATUS, startTestKit, type TestKit } from 'magento-async/testing';
import * as plugin from './index.ts';

let kit: TestKit;
before(async () => {
  kit = await startTestKit({ plugins: [plugin] });
});
after(() => kit?.close());

test('keeps the price of a product, per store view', async () => {
  const outcome = await kit.run('PutV1ProductsSku', { sku: '24-MB01', product: { sku: '24-MB01', price: 34 } });
  assert.equal(outcome.status, STATUS.COMPLETE, outcome.message ?? undefined);
  const rows = await kit.query('SELECT store_id, price::int AS price FROM local_price WHERE sku = $1', ['24-MB01']);
  assert.deepEqual(rows, [{ store_id: 1, price: 34 }]);
});

test('fails an operation without a price, with its code', async () => {
  const outcome = await kit.run('PutV1ProductsSku', { sku: '24-MB02', product: { sku: '24-MB02' } });
  assert.deepEqual([outcome.status, outcome.errorCode], [STATUS.FAILED, 400]);
});
