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

test('keeps a page, per store view', async () => {
  const outcome = await kit.run('PostV1CmsPage', { page: { identifier: 'about-us', title: 'About us' } });
  assert.equal(outcome.status, STATUS.COMPLETE, outcome.message ?? undefined);
  const rows = await kit.query('SELECT store_id, title FROM local_page WHERE identifier = $1', ['about-us']);
  assert.deepEqual(rows, [{ store_id: 1, title: 'About us' }]);
});

test('fails an identifier with spaces, with its code', async () => {
  const outcome = await kit.run('PostV1CmsPage', { page: { identifier: 'about us', title: 'About us' } });
  assert.deepEqual([outcome.status, outcome.errorCode], [STATUS.FAILED, 400]);
});
