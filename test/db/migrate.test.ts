import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase } from '../support/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { ident } from '../../src/db/pool.ts';

test('migrations create the schema once and seed the admin and default scopes', async (t) => {
  const db = await createTestDatabase('migrate');
  t.after(() => db.drop());
  assert.deepEqual(await migrate(db.pool, db.schema), [], 'a second run applies nothing');
  const { rows } = await db.pool.query(`SELECT store_id, code FROM ${ident(db.schema)}.store ORDER BY store_id`);
  assert.deepEqual(rows, [
    { store_id: 0, code: 'admin' },
    { store_id: 1, code: 'default' },
  ]);
});

test('status counters follow inserts and status changes of operations', async (t) => {
  const db = await createTestDatabase('counters');
  t.after(() => db.drop());
  const s = ident(db.schema);
  const uuid = '00000000-0000-4000-8000-000000000001';
  await db.pool.query(`INSERT INTO ${s}.bulk (uuid, operation_count, store_id) VALUES ($1, 3, 1)`, [uuid]);
  await db.pool.query(
    `INSERT INTO ${s}.operation (bulk_uuid, operation_key, topic_name, operation_id)
     SELECT $1, k, 't', 'op' FROM generate_series(0, 2) k`,
    [uuid],
  );
  await db.pool.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1 AND operation_key < 2`, [uuid]);
  await db.pool.query(`UPDATE ${s}.operation SET status = 3 WHERE bulk_uuid = $1 AND operation_key = 1`, [uuid]);
  const { rows } = await db.pool.query(
    `SELECT sum(complete)::int AS complete, sum(failed)::int AS failed, sum(open)::int AS open
     FROM ${s}.bulk_counter WHERE bulk_uuid = $1`,
    [uuid],
  );
  assert.deepEqual(rows[0], { complete: 1, failed: 1, open: 1 });
});
