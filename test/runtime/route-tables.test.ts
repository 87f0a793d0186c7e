import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { publishRouteTable, servedRoutes, servedVersion } from '../../src/runtime/route-tables.ts';
import type { Route } from '../../src/routes/types.ts';

const route = (operationId: string, entity: string) => ({ operationId, entity, method: 'POST' }) as Route;

let db: TestDatabase;
before(async () => (db = await createTestDatabase('route_tables')));
after(() => db.drop());

test('consumers run the union of the tables servers registered and their own', async () => {
  const local = [route('PostV1Products', 'products')];
  const none = await servedRoutes(db.pool, db.schema, local);
  assert.deepEqual(
    none.routes.map((r) => r.operationId),
    ['PostV1Products'],
    'no server yet: the local table',
  );

  await publishRouteTable(db.pool, db.schema, [route('PostV1Orders', 'orders')], 'store.json');
  const before = await servedVersion(db.pool, db.schema);
  await publishRouteTable(db.pool, db.schema, [route('PostV1Orders', 'orders')], 'store.json');
  assert.equal(
    await servedVersion(db.pool, db.schema),
    before,
    'a server restarting on the same table changes nothing',
  );

  await publishRouteTable(
    db.pool,
    db.schema,
    [route('PostV1Products', 'catalog'), route('PostV1Invoices', 'invoices')],
    'other.json',
  );
  const served = await servedRoutes(db.pool, db.schema, local);
  assert.notEqual(served.version, before, 'a new table is a new version to follow');
  assert.deepEqual(
    served.routes.map((r) => `${r.operationId}:${r.entity}`).sort(),
    ['PostV1Invoices:invoices', 'PostV1Orders:orders', 'PostV1Products:catalog'],
    'a served table wins over the local one for the same operation',
  );
  assert.deepEqual(served.sources.sort(), ['other.json', 'store.json']);
});
