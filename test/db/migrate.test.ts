import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { createTestDatabase } from '../support/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { ident, type Pool } from '../../src/db/pool.ts';
import { startDriver } from '../support/drive.ts';
import { waitFor } from '../support/wait.ts';

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
  // The statuses come from the real accept transaction (inserts) and a real consumer (changes).
  const drive = await startDriver(db);
  t.after(() => drive.close());
  const uuid = await drive.accept({ operations: [{}, { fail: 'no' }, { gate: 'last' }] });
  await drive.reached('last');
  await waitForCounters(db.pool, s, uuid, { complete: 1, failed: 1, open: 1 });
  drive.release('last');
  await drive.settled(uuid);
  const { rows } = await db.pool.query(
    `SELECT sum(complete)::int AS complete, sum(failed)::int AS failed, sum(open)::int AS open
     FROM ${s}.bulk_counter WHERE bulk_uuid = $1`,
    [uuid],
  );
  assert.deepEqual(rows[0], { complete: 2, failed: 1, open: 0 });
});

async function waitForCounters(pool: Pool, s: string, uuid: string, expected: object): Promise<void> {
  const counters = async () =>
    (
      await pool.query(
        `SELECT sum(complete)::int AS complete, sum(failed)::int AS failed, sum(open)::int AS open
         FROM ${s}.bulk_counter WHERE bulk_uuid = $1`,
        [uuid],
      )
    ).rows[0] as object;
  await waitFor(
    async () => isDeepStrictEqual(await counters(), expected),
    10_000,
    `counters ${JSON.stringify(expected)}`,
  );
}
