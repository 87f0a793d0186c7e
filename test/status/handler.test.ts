/**
 * The status API over HTTP against the real database: Magento's fixture `operation_searchable.php`
 * and the assertions of BulkStatusInterfaceTest / OperationRepositoryInterfaceTest (source notes
 * §11.1), exact response bytes, errors, ACL and ownership, SQL injection, retry and cancel.
 *
 * Every bulk here is accepted by the real accept transaction and processed by a real consumer
 * (test/support/drive.ts), with the accept clock set to the times Magento's fixtures name; the
 * callers sign in for real (test/status/helpers.ts).
 *
 * `bulk.uuid` is a uuid column here, so Magento's fixture names map to fixed uuids:
 * bulk-uuid-searchable-6 → B6, bulk-uuid-searchable-7 → B7.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { ident } from '../../src/db/pool.ts';
import { jobIdFor } from '../../src/queue/names.ts';
import { startDriver, type AcceptSpec, type Outcome } from '../support/drive.ts';
import { waitFor } from '../support/wait.ts';
import { GUEST, get, post, signIn, startHarness } from './helpers.ts';

const B6 = '00000000-0000-4000-8000-000000000006';
const B7 = '00000000-0000-4000-8000-000000000007';
const SMALL = 'fbfca270-7a90-4c4e-9f32-d6cf3728cdc7';
const OWNED = '00000000-0000-4000-8000-0000000000a1';
const UNKNOWN = '00000000-0000-4000-8000-00000000ffff';
const UNAUTHORIZED =
  '{"message":"The consumer isn\'t authorized to access %resources.","parameters":{"resources":"Magento_Logging::system_magento_logging_bulk_operations"}}';
/** The Magento class whose save the catalog fixture names in its success message. */
const PRODUCT_REPOSITORY = 'Magento\\Catalog\\Model\\ProductRepository\\Interceptor';
const CATALOG_TOPIC = 'async.magento.catalog.api.productrepositoryinterface.save.put';

const db = await createTestDatabase('status_handler');
const { admin: ADMIN, owner: OWNER, other: OTHER } = await signIn(db.pool, db.schema);
// Two of B6's operations stay open at a gate for the whole file: two more workers than the other
// tests hold at once.
const drive = await startDriver(db, { concurrency: 6 });
const catalog = await startDriver(db, { entity: 'catalog', plugin: PRODUCT_REPOSITORY });
const h = await startHarness(db.pool, db.schema, {
  boss: drive.boss,
  entities: { 'products.save': 'driven', save: 'catalog', 'orders.save': 'reopening', 'carts.save': 'canceling' },
});
test.after(async () => {
  await h.close();
  await catalog.close();
  await drive.close();
  await db.drop();
});

// operation_searchable.php, as accept and the consumer write it. Magento's sixth operation (status
// 5, "rejected") is a row its fixture inserts and its REST path never writes (source notes §5.2):
// here the sixth item is rejected by accept, so it has no row and no place in operation_count.
await drive.accept({
  uuid: B6,
  userId: ADMIN.userId,
  acceptedAt: '2009-10-10 00:00:00',
  operations: [
    { args: { entity_id: 5 } },
    { fail: 'Something went wrong during your request', code: 1111, args: { entity_id: 5, meta_information: 'Test' } },
    { retry: 'Entity with ID=4 does not exist', code: 2222 },
    { gate: 'B6-open' },
    { gate: 'B6-open' },
    { rejected: 'Invalid item' },
  ],
});
// bulk-uuid-searchable-7 has operation_count 3 and no rows, a state of Magento's scheduleBulk
// before its operations are saved; accept writes both at once, so the bulk with no rows it can
// write is one whose every item was rejected.
await drive.accept({
  uuid: B7,
  userId: ADMIN.userId,
  acceptedAt: '2009-10-10 00:00:00',
  operations: [{ rejected: 'Invalid item' }, { rejected: 'Invalid item' }, { rejected: 'Invalid item' }],
});
await catalog.accept({
  uuid: SMALL,
  userId: ADMIN.userId,
  acceptedAt: '2018-07-12 16:07:53',
  topic: CATALOG_TOPIC,
  operationId: 'save',
  operations: [
    { ok: { sku: '24-MB01' }, args: { product: { sku: '24-MB01' } } },
    { fail: 'No such entity with sku = "x/y" é', code: 404, args: { product: { sku: 'x/y' } } },
  ],
});
await drive.accept({
  uuid: OWNED,
  userType: OWNER.userType,
  userId: OWNER.userId,
  acceptedAt: '2015-01-01 00:00:00',
  unprocessed: true,
  operations: [{}],
});
await drive.reached('B6-open', 2);
await drive.recorded(B6, 3);
await catalog.settled(SMALL);

test('BulkStatusInterfaceTest: operation counts by status', async () => {
  h.as(ADMIN);
  const cases: [string, number, string][] = [
    [B6, 1, '1'],
    [B6, 2, '1'],
    [B6, 3, '1'],
    [B6, 4, '2'],
    // Magento's fixture answers 1: a row accept never writes (above).
    [B6, 5, '0'],
    [B7, 4, '0'],
    [UNKNOWN, 4, '0'],
    ['not-a-uuid', 1, '0'],
  ];
  for (const [uuid, status, expected] of cases) {
    const res = await get(h, `/V1/bulk/${uuid}/operation-status/${status}`);
    assert.equal(res.status, 200, `${uuid} ${status}`);
    assert.equal(res.text, expected, `${uuid} ${status}`);
  }
});

test('operation-status rejects statuses outside 1..5', async () => {
  h.as(ADMIN);
  for (const s of ['0', '6', 'abc', '1.5', '-1', '%27%20OR%201=1']) {
    const res = await get(h, `/V1/bulk/${B6}/operation-status/${s}`);
    assert.equal(res.status, 400, s);
    assert.equal(res.text, '{"message":"Invalid Operation Status."}', s);
  }
});

const startTimeQuery =
  'searchCriteria[filter_groups][0][filters][0][field]=start_time' +
  '&searchCriteria[filter_groups][0][filters][0][value]=2010-10-10%2000:00:00' +
  '&searchCriteria[filter_groups][0][filters][0][condition_type]=lteq' +
  '&searchCriteria[current_page]=1&searchCriteria[page_size]=20';

test('OperationRepositoryInterfaceTest::testGetListByBulkStartTime', async () => {
  h.as(ADMIN);
  const res = await get(h, `/V1/bulk?${startTimeQuery}`);
  assert.equal(res.status, 200);
  const body = JSON.parse(res.text) as {
    items: { bulk_uuid: string }[];
    search_criteria: unknown;
    total_count: number;
  };
  // SMALL (2018) and OWNED (2015) are after 2010, B7 has no rows: only bulk 6's five rows.
  assert.equal(body.total_count, 5);
  assert.equal(body.items.length, 5);
  assert.ok(body.items.every((i) => i.bulk_uuid === B6));
  assert.deepEqual(body.search_criteria, {
    filter_groups: [{ filters: [{ field: 'start_time', value: '2010-10-10 00:00:00', condition_type: 'lteq' }] }],
    page_size: 20,
    current_page: 1,
  });
});

test('OperationRepositoryInterfaceTest::testGetList (bulk_uuid AND status)', async () => {
  h.as(ADMIN);
  const q =
    `searchCriteria[filter_groups][0][filters][0][field]=bulk_uuid&searchCriteria[filter_groups][0][filters][0][value]=${B6}` +
    '&searchCriteria[filter_groups][0][filters][0][condition_type]=eq' +
    '&searchCriteria[filter_groups][1][filters][0][field]=status&searchCriteria[filter_groups][1][filters][0][value]=3' +
    '&searchCriteria[filter_groups][1][filters][0][condition_type]=eq';
  const body = JSON.parse((await get(h, `/V1/bulk?${q}`)).text) as { items: { id: number }[]; total_count: number };
  assert.equal(body.total_count, 1);
  assert.equal(body.items.length, 1);
  assert.equal(body.items[0]!.id, 1);
});

test('OperationRepositoryInterfaceTest::testBulkGetListByStartTime (two bulks, same operation keys)', async () => {
  h.as(ADMIN);
  const a = '00000000-0000-4000-8000-0000000000b1';
  const b = '00000000-0000-4000-8000-0000000000b2';
  // Accepted a second apart by the test's clock, after every other bulk of the file.
  for (const [uuid, at] of [
    [a, '2030-01-01 00:00:00'],
    [b, '2030-01-01 00:00:01'],
  ] as const) {
    await drive.accept({
      uuid,
      userId: ADMIN.userId,
      acceptedAt: at,
      unprocessed: true,
      topic: 'async.magento.customer.api.accountmanagementinterface.createaccount.post',
      operations: [{}, {}],
    });
  }
  const q =
    'searchCriteria[filter_groups][0][filters][0][field]=start_time' +
    `&searchCriteria[filter_groups][0][filters][0][value]=${encodeURIComponent('2029-12-31 23:59:59')}` +
    '&searchCriteria[filter_groups][0][filters][0][condition_type]=gt';
  const body = JSON.parse((await get(h, `/V1/bulk?${q}`)).text) as {
    items: { id: number; bulk_uuid: string }[];
    total_count: number;
  };
  assert.equal(body.total_count, 4);
  assert.deepEqual(
    body.items.map((i) => `${i.bulk_uuid}:${i.id}`),
    [`${a}:0`, `${a}:1`, `${b}:0`, `${b}:1`],
  );
});

test('exact bytes: /status, /detailed-status, /operation-status, search item', async () => {
  h.as(ADMIN);
  const tail =
    '"user_type":2,"bulk_id":"fbfca270-7a90-4c4e-9f32-d6cf3728cdc7",' +
    '"description":"Topic async.magento.catalog.api.productrepositoryinterface.save.put",' +
    '"start_time":"2018-07-12 16:07:53","user_id":1,"operation_count":2,' +
    '"bulk_status":3,"operation_counts":{"complete":1,"retriably_failed":0,"not_retriably_failed":1,"open":0,"rejected":0}}';
  const short = await get(h, `/rest/V1/bulk/${SMALL}/status`.replace('/rest', ''));
  assert.equal(short.status, 200);
  assert.equal(short.type, 'application/json; charset=utf-8');
  assert.equal(
    short.text,
    String.raw`{"operations_list":[{"id":0,"status":1,"result_message":"Service execution success Magento\\Catalog\\Model\\ProductRepository\\Interceptor::save","error_code":null},{"id":1,"status":3,"result_message":"No such entity with sku = \"x\/y\" \u00e9","error_code":404}],` +
      tail,
  );
  // The failed operation keeps its serialized_data (accept's, PHP-encoded: `x\/y` inside a string
  // inside the answer's string); the complete one's is cleared.
  const detailed = await get(h, `/V2/bulk/${SMALL}/detailed-status`);
  assert.equal(
    detailed.text,
    String.raw`{"operations_list":[{"id":0,"bulk_uuid":"fbfca270-7a90-4c4e-9f32-d6cf3728cdc7","topic_name":"async.magento.catalog.api.productrepositoryinterface.save.put","serialized_data":null,"result_serialized_data":"{\"sku\":\"24-MB01\"}","status":1,"result_message":"Service execution success Magento\\Catalog\\Model\\ProductRepository\\Interceptor::save","error_code":null},` +
      String.raw`{"id":1,"bulk_uuid":"fbfca270-7a90-4c4e-9f32-d6cf3728cdc7","topic_name":"async.magento.catalog.api.productrepositoryinterface.save.put","serialized_data":"{\"entity_id\":null,\"entity_link\":\"\",\"meta_information\":\"{\\\"product\\\":{\\\"sku\\\":\\\"x\\\\\\\/y\\\"}}\",\"store_id\":\"1\"}","result_serialized_data":null,"status":3,"result_message":"No such entity with sku = \"x\/y\" \u00e9","error_code":404}],` +
      tail,
  );
  const summaryOnly = await get(h, `/V1/bulk/${SMALL}/status?operations=false`);
  assert.equal(summaryOnly.text, '{' + tail);
  const q =
    `searchCriteria[filter_groups][0][filters][0][field]=bulk_uuid&searchCriteria[filter_groups][0][filters][0][value]=${SMALL}` +
    '&searchCriteria[filter_groups][1][filters][0][field]=id&searchCriteria[filter_groups][1][filters][0][value]=0';
  const search = await get(h, `/V1/bulk?${q}`);
  assert.equal(
    search.text,
    String.raw`{"items":[{"extension_attributes":{"start_time":"2018-07-12 16:07:53"},"id":0,"bulk_uuid":"fbfca270-7a90-4c4e-9f32-d6cf3728cdc7","topic_name":"async.magento.catalog.api.productrepositoryinterface.save.put","serialized_data":null,"result_serialized_data":"{\"sku\":\"24-MB01\"}","status":1,"result_message":"Service execution success Magento\\Catalog\\Model\\ProductRepository\\Interceptor::save","error_code":null}],` +
      `"search_criteria":{"filter_groups":[{"filters":[{"field":"bulk_uuid","value":"${SMALL}","condition_type":"eq"}]},{"filters":[{"field":"id","value":"0","condition_type":"eq"}]}],"page_size":20},"total_count":1}`,
  );
});

test('exact bytes of a bulk whose every item was rejected (B7): as Magento 2.4.8 answers it', async () => {
  // Magento: publishMass calls scheduleBulk with no operations, so the bulk row stays with
  // operation_count 0 and no operation rows; getBulkStatus answers NOT_STARTED (0) when there are
  // no rows (Model/BulkStatus.php), /status and /detailed-status list nothing, /operation-status
  // counts rows (0 for every status, 4 included: BulkOperationsStatus, not the framework's
  // BulkStatus, which would answer operation_count), and the operation search finds nothing.
  h.as(ADMIN);
  const tail =
    `"user_type":2,"bulk_id":"${B7}","description":"Topic topic-5","start_time":"2009-10-10 00:00:00",` +
    `"user_id":${ADMIN.userId},"operation_count":0,"bulk_status":0,` +
    '"operation_counts":{"complete":0,"retriably_failed":0,"not_retriably_failed":0,"open":0,"rejected":0}}';
  for (const path of ['status', 'detailed-status']) {
    const res = await get(h, `/V1/bulk/${B7}/${path}`);
    assert.equal(res.status, 200, path);
    assert.equal(res.text, '{"operations_list":[],' + tail, path);
  }
  assert.equal((await get(h, `/V1/bulk/${B7}/status?operations=false`)).text, '{' + tail);
  for (const status of [1, 2, 3, 4, 5]) {
    assert.equal((await get(h, `/V1/bulk/${B7}/operation-status/${status}`)).text, '0', `status ${status}`);
  }
  const q = `searchCriteria[filter_groups][0][filters][0][field]=bulk_uuid&searchCriteria[filter_groups][0][filters][0][value]=${B7}`;
  assert.equal(
    (await get(h, `/V1/bulk?${q}`)).text,
    `{"items":[],"search_criteria":{"filter_groups":[{"filters":[{"field":"bulk_uuid","value":"${B7}","condition_type":"eq"}]}],"page_size":20},"total_count":0}`,
  );
  // Our bulk list says the same as /status; a long-poll answers at once: nothing of it will run.
  const list = JSON.parse((await get(h, `/V1/bulks?q=${B7}`)).text) as { items: Record<string, unknown>[] };
  assert.deepEqual(
    list.items.map((b) => [b.bulk_id, b.bulk_status, b.operation_count]),
    [[B7, 0, 0]],
  );
  const polled = await get(h, `/V1/bulk/${B7}/status?operations=false&waitSeconds=60`);
  assert.equal(polled.text, '{' + tail);
});

test('404 and 400 answers', async () => {
  h.as(ADMIN);
  const cases: [string, number, string][] = [
    [
      `/V1/bulk/${UNKNOWN}/status`,
      404,
      `{"message":"Bulk uuid %bulkUuid not exist","parameters":{"bulkUuid":"${UNKNOWN}"}}`,
    ],
    [
      `/V1/bulk/${UNKNOWN}/detailed-status`,
      404,
      `{"message":"Bulk uuid %bulkUuid not exist","parameters":{"bulkUuid":"${UNKNOWN}"}}`,
    ],
    [
      '/V1/bulk/bulk-uuid-searchable-6/status',
      404,
      '{"message":"Bulk uuid %bulkUuid not exist","parameters":{"bulkUuid":"bulk-uuid-searchable-6"}}',
    ],
    [
      "/V1/bulk/'%3B%20SELECT%201/status",
      404,
      `{"message":"Bulk uuid %bulkUuid not exist","parameters":{"bulkUuid":"'; SELECT 1"}}`,
    ],
    [
      '/V1/bulk',
      400,
      '{"message":"\\"%fieldName\\" is required. Enter and try again.","parameters":{"fieldName":"searchCriteria"}}',
    ],
    [
      '/V1/bulk?searchCriteria[page_size]=301',
      400,
      '{"message":"Maximum SearchCriteria pageSize is %max","parameters":{"max":300}}',
    ],
    [
      `/V1/bulk/${B6}/status?waitSeconds=61`,
      400,
      '{"message":"Invalid value of \\"%value\\" provided for the %fieldName field.","parameters":{"value":"61","fieldName":"waitSeconds"}}',
    ],
    [
      `/V1/bulk/${B6}/status?waitSeconds=1.5`,
      400,
      '{"message":"Invalid value of \\"%value\\" provided for the %fieldName field.","parameters":{"value":"1.5","fieldName":"waitSeconds"}}',
    ],
    [
      `/V1/bulk/${B6}/status?operations=maybe`,
      400,
      '{"message":"Invalid value of \\"%value\\" provided for the %fieldName field.","parameters":{"value":"maybe","fieldName":"operations"}}',
    ],
    [`/V1/bulk/${B6}/unknown`, 404, 'Not Found'],
  ];
  for (const [path, status, text] of cases) {
    const res = await get(h, path);
    assert.equal(res.status, status, path);
    assert.equal(res.text, text, path);
  }
  // `?searchCriteria=` is Magento's "everything" idiom.
  const all = JSON.parse((await get(h, '/V1/bulk?searchCriteria=')).text) as { total_count: number; items: unknown[] };
  assert.ok(all.total_count >= 9);
  assert.equal(all.items.length, 20 > all.total_count ? all.total_count : 20);
});

test('bulk_status: not started, in progress, finished (O(1) counters, #36911 fixed)', async () => {
  h.as(ADMIN);
  // Each bulk is accepted and processed for real; a gated operation is one whose handler is
  // still running when the status is read, so the read sees it open.
  const cases: [string, Outcome[], number, AcceptSpec['unprocessed']?][] = [
    ['all open, none picked up', [{}, {}], 0, true],
    // Workers record started_at together with the outcome, so while the handlers run the bulk
    // reads "not started" (counters only: the read never touches operation rows).
    ['picked up, nothing recorded yet', [{ gate: 'running' }, { gate: 'running' }], 0],
    ['one complete, one open', [{}, { gate: 'open-1' }], 1],
    ['one failed, one open (Magento says 3 here)', [{ fail: 'bad' }, { gate: 'open-2' }], 1],
    ['all complete', [{}, {}], 2],
    ['complete and failed', [{}, { fail: 'bad' }], 3],
    ['retriable, retries exhausted', [{}, { retry: 'deadlock', code: 11 }], 3],
  ];
  let n = 0;
  for (const [name, ops, expected, unprocessed] of cases) {
    const uuid = `00000000-0000-4000-8000-0000000001${String(n++).padStart(2, '0')}`;
    await drive.accept({ uuid, unprocessed, operations: ops });
    const gates = ops.filter((o) => 'gate' in o);
    for (const o of new Set(gates.map((g) => g.gate))) await drive.reached(o, gates.length);
    await drive.recorded(uuid, ops.length - gates.length - (unprocessed ? ops.length : 0));
    const body = JSON.parse((await get(h, `/V1/bulk/${uuid}/status?operations=false`)).text) as { bulk_status: number };
    assert.equal(body.bulk_status, expected, name);
    // Held workers are few (B6 holds two of six): a held one goes on before the next case runs.
    for (const g of gates) drive.release(g.gate);
  }
  // A retriable failure with a retry coming (will_retry): in progress until the retry has run.
  const retrying = await startDriver(db, { entity: 'retrying', retryLimit: 1, retryDelaySeconds: 3600 });
  try {
    const uuid = await retrying.accept({ operations: [{}, { retry: 'deadlock', code: 11 }] });
    await retrying.recorded(uuid, 2);
    const { rows } = await db.pool.query<{ will_retry: boolean }>(
      `SELECT will_retry FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1 AND operation_key = 1`,
      [uuid],
    );
    assert.equal(rows[0]!.will_retry, true, 'the consumer scheduled a retry');
    const body = JSON.parse((await get(h, `/V1/bulk/${uuid}/status?operations=false`)).text) as { bulk_status: number };
    assert.equal(body.bulk_status, 1, 'retriable with a retry coming');
  } finally {
    await retrying.close();
  }
  // No "rejected" (status 5) case: a rejected item is answered in the accept response and never
  // stored, so no bulk holds one (B6's sixth item).
  // B7, every item rejected: no rows.
  const b7 = JSON.parse((await get(h, `/V1/bulk/${B7}/status`)).text) as Record<string, unknown>;
  assert.deepEqual(b7.operations_list, []);
  assert.equal(b7.operation_count, 0);
  const b6 = JSON.parse((await get(h, `/V1/bulk/${B6}/status?operations=0`)).text) as Record<string, unknown>;
  assert.deepEqual(b6.operation_counts, {
    complete: 1,
    retriably_failed: 1,
    not_retriably_failed: 1,
    open: 2,
    rejected: 0,
  });
  assert.equal(b6.operation_count, 5);
  assert.equal(b6.bulk_status, 1);
});

test('ACL and ownership', async () => {
  const paths = (uuid: string) => [
    `/V1/bulk/${uuid}/status`,
    `/V1/bulk/${uuid}/detailed-status`,
    `/V1/bulk/${uuid}/operation-status/4`,
    `/V1/bulk/${uuid}/results.ndjson`,
  ];
  // The owner (an integration without the ACL resource) reads its own bulk.
  h.as(OWNER);
  for (const p of paths(OWNED)) assert.equal((await get(h, p)).status, 200, p);
  // ...but neither someone else's bulk nor an unknown one: the same 401, so existence does not leak.
  for (const uuid of [B6, UNKNOWN, 'junk']) {
    for (const p of paths(uuid)) {
      const res = await get(h, p);
      assert.equal(res.status, 401, p);
      assert.equal(res.text, UNAUTHORIZED, p);
    }
  }
  // Same user id, other user type (an admin without the resource): not the owner.
  h.as(OTHER);
  for (const p of paths(OWNED)) assert.equal((await get(h, p)).status, 401, p);
  assert.equal((await post(h, `/V1/bulk/${OWNED}/retry`)).status, 401);
  assert.equal((await post(h, `/V1/bulk/${OWNED}/cancel`)).status, 401);
  // Guests: always 401, search included.
  h.as(GUEST);
  for (const p of [...paths(OWNED), '/V1/bulk?searchCriteria=']) {
    const res = await get(h, p);
    assert.equal(res.status, 401, p);
    assert.equal(res.text, UNAUTHORIZED, p);
  }
  // Search without the resource: own bulks only.
  h.as(OWNER);
  const own = JSON.parse((await get(h, '/V1/bulk?searchCriteria=')).text) as {
    items: { bulk_uuid: string }[];
    total_count: number;
  };
  assert.equal(own.total_count, 1);
  assert.equal(own.items[0]!.bulk_uuid, OWNED);
  // The admin (with the resource) sees every bulk, as in Magento.
  h.as(ADMIN);
  assert.equal((await get(h, `/V1/bulk/${OWNED}/status`)).status, 200);
});

test('SQL injection in every part of searchCriteria: 400 or a harmless result', async () => {
  h.as(ADMIN);
  const f = (field: string, value: string, cond?: string) =>
    `searchCriteria[filter_groups][0][filters][0][field]=${encodeURIComponent(field)}` +
    `&searchCriteria[filter_groups][0][filters][0][value]=${encodeURIComponent(value)}` +
    (cond === undefined
      ? ''
      : `&searchCriteria[filter_groups][0][filters][0][condition_type]=${encodeURIComponent(cond)}`);
  const evil = `'; DROP TABLE ${db.schema}.operation; --`;
  const cases: [string, string, number, number?][] = [
    ['field name', f(evil, '1'), 400],
    ['field name with quote', f('status"', '1'), 400],
    ['value (text)', f('topic_name', `' OR '1'='1`), 200, 0],
    ['value (text) with drop', f('result_message', evil), 200, 0],
    ['value (int)', f('status', '1 OR 1=1'), 400],
    ['value (uuid eq)', f('bulk_uuid', `' OR ''='`), 200, 0],
    ['value (uuid gt)', f('bulk_uuid', `' OR ''='`, 'gt'), 200],
    ['value (timestamp)', f('start_time', `2010-01-01' OR '1'='1`, 'lt'), 400],
    ['value (like)', f('topic_name', `%' OR '1'='1`, 'like'), 200, 0],
    ['value (in, text)', f('topic_name', `a','b') OR TRUE --`, 'in'), 200, 0],
    ['value (in, int)', f('status', '1,2) OR (1=1', 'in'), 400],
    ['value (nin, uuid)', f('bulk_uuid', `x') OR TRUE --`, 'nin'), 200],
    ['condition_type', f('status', '1', 'eq OR 1=1'), 400],
    ['condition_type (unknown)', f('status', '1', 'finset'), 400],
    ['sort field', `searchCriteria[sort_orders][0][field]=${encodeURIComponent('status; ' + evil)}`, 400],
    [
      'sort direction',
      `searchCriteria[sort_orders][0][field]=status&searchCriteria[sort_orders][0][direction]=${encodeURIComponent('ASC; ' + evil)}`,
      400,
    ],
    ['page size', `searchCriteria[page_size]=${encodeURIComponent('20; ' + evil)}`, 400],
    ['page size (negative)', 'searchCriteria[page_size]=-1', 400],
    ['current page', `searchCriteria[current_page]=${encodeURIComponent('1 OR 1=1')}`, 400],
    ['current page (zero)', 'searchCriteria[current_page]=0', 400],
    ['unknown criteria key', `searchCriteria[${encodeURIComponent('pageSize;DROP TABLE x')}]=1`, 400],
    // PHP's parse_str stops at the first `]`: the rest of the key is ignored, page_size is 1.
    ['junk after a bracket', `searchCriteria[${encodeURIComponent("page_size]=1;'--")}]=1`, 200],
    ['unknown filter key', `searchCriteria[filter_groups][0][filters][0][${encodeURIComponent("field'")}]=status`, 400],
  ];
  for (const [name, q, status, total] of cases) {
    const res = await get(h, `/V1/bulk?${q}`);
    assert.equal(res.status, status, `${name}: ${res.text}`);
    const body = JSON.parse(res.text) as { message?: string; total_count?: number };
    if (status === 400) assert.ok(!/syntax|SQL|relation|column/i.test(body.message ?? ''), name);
    if (total !== undefined) assert.equal(body.total_count, total, name);
  }
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ident(db.schema)}.operation`);
  assert.ok(rows[0]!.n > 0, 'the operation table is intact');
});

test('search: conditions, OR inside a group, sort, paging', async () => {
  h.as(ADMIN);
  const base = `searchCriteria[filter_groups][0][filters][0][field]=bulk_uuid&searchCriteria[filter_groups][0][filters][0][value]=${B6}`;
  const g = (i: number, field: string, value: string, cond: string) =>
    `&searchCriteria[filter_groups][1][filters][${i}][field]=${field}&searchCriteria[filter_groups][1][filters][${i}][value]=${encodeURIComponent(value)}&searchCriteria[filter_groups][1][filters][${i}][condition_type]=${cond}`;
  const ids = async (q: string) =>
    (JSON.parse((await get(h, `/V1/bulk?${base}${q}`)).text) as { items: { id: number }[] }).items.map((i) => i.id);
  const cases: [string, string, number[]][] = [
    // B6: 0 complete, 1 failed (1111), 2 retriably failed (2222), 3 and 4 open.
    ['neq', g(0, 'status', '4', 'neq'), [0, 1, 2]],
    ['gt', g(0, 'status', '2', 'gt'), [1, 3, 4]],
    ['gteq', g(0, 'status', '3', 'gteq'), [1, 3, 4]],
    ['lt', g(0, 'id', '2', 'lt'), [0, 1]],
    ['lteq', g(0, 'id', '2', 'lteq'), [0, 1, 2]],
    ['in', g(0, 'status', '1,4', 'in'), [0, 3, 4]],
    ['nin', g(0, 'status', '1,4,5', 'nin'), [1, 2]],
    ['like (case-insensitive)', g(0, 'result_message', '%WENT wrong%', 'like'), [1]],
    ['null', g(0, 'error_code', '', 'null'), [0, 3, 4]],
    ['notnull', g(0, 'error_code', '', 'notnull'), [1, 2]],
    ['OR inside a group', g(0, 'status', '1', 'eq') + g(1, 'status', '2', 'eq'), [0, 2]],
    [
      'sort DESC',
      '&searchCriteria[sort_orders][0][field]=status&searchCriteria[sort_orders][0][direction]=desc',
      [3, 4, 1, 2, 0],
    ],
    ['sort NULLs first (MySQL)', '&searchCriteria[sort_orders][0][field]=error_code', [0, 3, 4, 1, 2]],
    ['page 2 of size 3', '&searchCriteria[page_size]=3&searchCriteria[current_page]=2', [3, 4]],
    ['camelCase keys', '&searchCriteria[pageSize]=2&searchCriteria[currentPage]=2', [2, 3]],
  ];
  for (const [name, q, expected] of cases) assert.deepEqual(await ids(q), expected, name);
  const unknown = await get(
    h,
    '/V1/bulk?searchCriteria[sort_orders][0][field]=status&searchCriteria[sort_orders][0][direction]=UP',
  );
  assert.equal(
    unknown.text,
    '{"message":"The sort order has to be specified as %1 for ascending order or %2 for descending order.","parameters":["ASC","DESC"]}',
  );
});

test('retry: reopens matching failed operations and enqueues them in the same transaction', async () => {
  h.as(ADMIN);
  const R = '00000000-0000-4000-8000-0000000000c1';
  const s = ident(db.schema);
  // One automatic retry, due a second after a failure unless the failure asks for longer. A run
  // after the retry API reopened an operation waits at `again`, so the reopened row is read as the
  // consumer holds it; a worker for each held one, and one more.
  const reopening = await startDriver(db, { entity: 'reopening', retryLimit: 1, retryDelaySeconds: 1, concurrency: 6 });
  try {
    await reopening.accept({
      uuid: R,
      userId: ADMIN.userId,
      operationId: 'orders.save',
      acceptedAt: '2001-01-01 00:00:00',
      operations: [
        { ok: { ok: true } },
        // Fails retriably twice: its retry used up, status 2 for good.
        { runs: [{ retry: 'deadlock', code: 11 }, { retry: 'deadlock', code: 11 }, { gate: 'again' }] },
        { runs: [{ fail: 'bad', code: 22 }, { gate: 'again' }], args: { keep: 'me' } },
        // Its automatic retry is an hour away (an upstream's Retry-After).
        { retry: 'retrying', code: 11, retryAfterSeconds: 3600 },
        { gate: 'open' },
        { runs: [{ fail: 'gone', code: 33 }, { gate: 'again' }] },
      ],
    });
    const recorded = [
      '1 Service execution success Test::orders.save',
      '2 11 deadlock',
      '3 22 bad',
      '2+retry 11 retrying',
      '4',
      '3 33 gone',
    ];
    await waitFor(
      async () => (await reopening.states(R)).join('|') === recorded.join('|'),
      30_000,
      `the outcomes of ${R}`,
    );
    await reopening.reached('open');
    const reopenJobs = async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${ident(db.bossSchema)}.job WHERE id = ANY($1::uuid[])`,
        [[0, 1, 2, 3, 4, 5].map((k) => jobIdFor(R, k, 1))],
      );
      return rows[0]!.n;
    };

    const invalid: [unknown, number, string][] = [
      [{ statuses: [1] }, 400, '{"message":"Only failed operations (statuses 2 and 3) can be retried."}'],
      [{ statuses: [4, 2] }, 400, '{"message":"Only failed operations (statuses 2 and 3) can be retried."}'],
      [{ statuses: [] }, 400, '{"message":"Only failed operations (statuses 2 and 3) can be retried."}'],
      [{ statuses: '2' }, 400, '{"message":"Only failed operations (statuses 2 and 3) can be retried."}'],
      ['{not json', 400, '{"message":"Decoding error."}'],
      [
        { statuses: [2], extra: 1 },
        400,
        '{"message":"\\"%fieldName\\" is not supported. Correct the field name and try again.","parameters":{"fieldName":"extra"}}',
      ],
      [
        { errorCodes: ['x'] },
        400,
        '{"message":"Invalid value of \\"%value\\" provided for the %fieldName field.","parameters":{"value":"[\\"x\\"]","fieldName":"errorCodes"}}',
      ],
    ];
    for (const [body, status, text] of invalid) {
      const res = await post(h, `/V1/bulk/${R}/retry`, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.text, text, JSON.stringify(body));
    }
    assert.equal(await reopenJobs(), 0, 'nothing enqueued');

    // Only status 3 with error code 22.
    let res = await post(h, `/V1/bulk/${R}/retry`, { statuses: [3], errorCodes: [22] });
    assert.equal(res.status, 200);
    assert.equal(res.text, `{"bulk_uuid":"${R}","reopened":1}`);
    const row = (await db.pool.query(`SELECT * FROM ${s}.operation WHERE bulk_uuid = $1 AND operation_key = 2`, [R]))
      .rows[0] as Record<string, unknown>;
    assert.deepEqual(
      [
        row.status,
        row.error_code,
        row.result_message,
        row.result_serialized_data,
        row.started_at,
        row.finished_at,
        row.reopened,
        row.will_retry,
        row.serialized_data,
      ],
      [
        4,
        null,
        null,
        null,
        null,
        null,
        1,
        false,
        '{"entity_id":null,"entity_link":"","meta_information":"{\\"keep\\":\\"me\\"}","store_id":"1"}',
      ],
    );
    // Its new job is on the queue, and the consumer runs it.
    await reopening.reached('again', 1);
    assert.equal(await reopenJobs(), 1);

    // A failing enqueue rolls the reopening back.
    h.failNextEnqueue();
    res = await post(h, `/V1/bulk/${R}/retry`);
    assert.equal(res.status, 500);
    const after = await db.pool.query<{ operation_key: number; status: number }>(
      `SELECT operation_key, status FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
      [R],
    );
    assert.deepEqual(
      after.rows.map((r) => r.status),
      [1, 2, 4, 2, 4, 3],
    );
    assert.equal(await reopenJobs(), 1);

    // Default statuses [2, 3]: keys 1 and 5; key 3 has its automatic retry coming and is left alone.
    res = await post(h, `/V1/bulk/${R}/retry`);
    assert.equal(res.text, `{"bulk_uuid":"${R}","reopened":2}`);
    await reopening.reached('again', 3);
    assert.equal(await reopenJobs(), 3);
    const status = JSON.parse((await get(h, `/V1/bulk/${R}/status?operations=false`)).text) as Record<string, unknown>;
    assert.deepEqual(status.operation_counts, {
      complete: 1,
      retriably_failed: 1,
      not_retriably_failed: 0,
      open: 4,
      rejected: 0,
    });
    // Nothing left to reopen; unknown bulk → 404; wrong content type → Magento's 400.
    assert.equal((await post(h, `/V1/bulk/${R}/retry`, { statuses: [3] })).text, `{"bulk_uuid":"${R}","reopened":0}`);
    assert.equal((await post(h, `/V1/bulk/${UNKNOWN}/retry`)).status, 404);
    const ct = await fetch(`${h.url}/V1/bulk/${R}/retry`, {
      method: 'POST',
      headers: { ...h.headers(), 'Content-Type': 'text/plain' },
      body: '{}',
    });
    assert.equal(ct.status, 400);
    // The owner without the ACL resource may retry its own bulk.
    h.as(OWNER);
    assert.equal((await post(h, `/V1/bulk/${OWNED}/retry`)).text, `{"bulk_uuid":"${OWNED}","reopened":0}`);
  } finally {
    await reopening.close();
  }
});

test('cancel: unfinished operations become 3 "Canceled", finished ones stay', async () => {
  h.as(ADMIN);
  const C = '00000000-0000-4000-8000-0000000000d1';
  const NEVER = '00000000-0000-4000-8000-0000000000d2';
  const s = ident(db.schema);
  const messages = async (uuid: string) =>
    (
      await db.pool.query<{ status: number; result_message: string | null }>(
        `SELECT status, result_message FROM ${s}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
        [uuid],
      )
    ).rows.map((r) => [r.status, r.result_message]);
  const canceling = await startDriver(db, { entity: 'canceling', retryLimit: 1 });
  try {
    // Three operations wait for their automatic retry (an hour away), one is complete.
    const later: Outcome = { retry: 'busy', retryAfterSeconds: 3600 };
    await canceling.accept({ uuid: C, operationId: 'carts.save', operations: [later, later, {}, later] });
    await waitFor(
      async () =>
        (await canceling.states(C)).join('|') ===
        '2+retry 0 busy|2+retry 0 busy|1 Service execution success Test::carts.save|2+retry 0 busy',
      15_000,
      `the outcomes of ${C}`,
    );
    let res = await post(h, `/V1/bulk/${C}/cancel`);
    assert.equal(res.status, 200);
    assert.equal(res.text, `{"bulk_uuid":"${C}","canceled":3}`);
    assert.deepEqual(await messages(C), [
      [3, 'Canceled'],
      [3, 'Canceled'],
      [1, 'Service execution success Test::carts.save'],
      [3, 'Canceled'],
    ]);
    // That a running operation finishes over its cancellation is the consumer's part: test/e2e.
    const body = JSON.parse((await get(h, `/V1/bulk/${C}/status?operations=false`)).text) as { bulk_status: number };
    assert.equal(body.bulk_status, 3);
    assert.equal((await post(h, `/V1/bulk/${C}/cancel`)).text, `{"bulk_uuid":"${C}","canceled":0}`);
    assert.equal((await post(h, `/V1/bulk/${C}/cancel`, { force: true })).status, 400);
    assert.equal((await post(h, `/V1/bulk/${UNKNOWN}/cancel`)).status, 404);

    // Open operations no consumer has picked up.
    await canceling.accept({ uuid: NEVER, operationId: 'carts.save', unprocessed: true, operations: [{}, {}] });
    res = await post(h, `/V1/bulk/${NEVER}/cancel`);
    assert.equal(res.text, `{"bulk_uuid":"${NEVER}","canceled":2}`);
    assert.deepEqual(await messages(NEVER), [
      [3, 'Canceled'],
      [3, 'Canceled'],
    ]);
  } finally {
    await canceling.close();
  }
});
