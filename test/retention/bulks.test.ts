/**
 * Bulk retention, driven the way production gets there: bulks accepted by the real accept
 * transaction and finished (or not) by a real consumer; the sweep then runs with a clock the test
 * moves past `bulkDays`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ident } from '../../src/db/pool.ts';
import { sweepExpiredBulks, type BulkRetentionOptions } from '../../src/retention/bulks.ts';
import { releaseRetentionLock, retentionLockName, tryRetentionLock } from '../../src/retention/bulks.sql.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startDriver, type Driver } from '../support/drive.ts';
import { startTestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const DAY = 86_400_000;
const SILENT = { info() {}, warn() {}, error() {}, debug() {} };
const inDays = (days: number) => () => new Date(Date.now() + days * DAY);

/** How many rows of each kind are left of these bulks. */
async function leftOf(db: TestDatabase, uuids: string[]) {
  const s = ident(db.schema);
  const { rows } = await db.pool.query<{ bulks: number; operations: number; counters: number; jobs: number }>(
    `SELECT (SELECT count(*)::int FROM ${s}.bulk WHERE uuid = ANY($1::uuid[])) AS bulks,
            (SELECT count(*)::int FROM ${s}.operation WHERE bulk_uuid = ANY($1::uuid[])) AS operations,
            (SELECT count(*)::int FROM ${s}.bulk_counter WHERE bulk_uuid = ANY($1::uuid[])) AS counters,
            (SELECT count(*)::int FROM ${ident(db.bossSchema)}.job WHERE data->>'bulk' = ANY($1::text[])) AS jobs`,
    [uuids],
  );
  return rows[0]!;
}

async function setUp(t: { after(fn: () => Promise<unknown>): void }, name: string) {
  const db = await createTestDatabase(name);
  t.after(() => db.drop());
  const drive: Driver = await startDriver(db, { batchSize: 100 });
  t.after(() => drive.close());
  const sweep = (overrides: Partial<BulkRetentionOptions>) =>
    sweepExpiredBulks({
      pool: db.pool,
      boss: drive.boss,
      schema: db.schema,
      bossSchema: db.bossSchema,
      bulkDays: 60,
      batchOperations: 100,
      log: SILENT,
      ...overrides,
    });
  return { db, drive, sweep };
}

test('finished bulks older than bulkDays go with their operations, counters and pg-boss jobs; the rest stay', async (t) => {
  const { db, drive, sweep } = await setUp(t, 'retention');
  const succeeded = await drive.accept({ operations: [{}, {}, {}] });
  const failed = await drive.accept({ operations: [{ fail: 'no such sku' }, {}] });
  // Bigger than one transaction may delete (batchOperations 100): deleted in slices.
  const big = await drive.accept({ operations: Array.from({ length: 250 }, () => ({})) });
  const open = await drive.accept({ unprocessed: true, operations: [{}, {}] });
  for (const uuid of [succeeded, failed, big]) await drive.settled(uuid, 60_000);
  const finished = [succeeded, failed, big];
  const before = await leftOf(db, finished);
  assert.equal(before.operations, 255);
  assert.ok(before.jobs >= 255, `the consumer's completed jobs are still in pg-boss (${before.jobs})`);

  assert.deepEqual(
    { ...(await sweep({ now: inDays(59) })), longestTransactionMs: 0 },
    { bulks: 0, operations: 0, jobs: 0, transactions: 0, longestTransactionMs: 0 },
    'at 59 days nothing is old enough',
  );
  assert.deepEqual(await leftOf(db, finished), before);

  const swept = await sweep({ now: inDays(61) });
  assert.ok(swept);
  assert.equal(swept.bulks, 3);
  assert.equal(swept.operations, 255);
  assert.equal(swept.jobs, before.jobs);
  // The 250-operation bulk in three slices and its row, the two small ones together, then the
  // jobs in pages of 100.
  assert.equal(swept.transactions, 5 + Math.ceil(before.jobs / 100));
  assert.deepEqual(await leftOf(db, finished), { bulks: 0, operations: 0, counters: 0, jobs: 0 });

  const kept = await leftOf(db, [open]);
  assert.deepEqual(kept, { bulks: 1, operations: 2, counters: kept.counters, jobs: 2 }, 'an unfinished bulk is kept');
  assert.ok(kept.counters > 0);
});

test('one server sweeps at a time: while another holds the retention lock, a sweep skips its round', async (t) => {
  const { db, drive, sweep } = await setUp(t, 'retention_lock');
  const uuid = await drive.accept({ operations: [{}] });
  await drive.settled(uuid);
  // Another server's sweep, holding the lock on its own connection.
  const other = await db.pool.connect();
  try {
    const { rows } = await other.query<{ locked: boolean }>(tryRetentionLock, [retentionLockName(db.schema)]);
    assert.equal(rows[0]!.locked, true);
    assert.equal(await sweep({ now: inDays(61) }), null);
    assert.equal((await leftOf(db, [uuid])).bulks, 1);
    await other.query(releaseRetentionLock, [retentionLockName(db.schema)]);
  } finally {
    other.release();
  }
  assert.equal((await sweep({ now: inDays(61) }))?.bulks, 1);
});

test('serve sweeps on its own every retention.sweepSeconds; the deleted bulk is then unknown to the status API', async (t) => {
  const server = await startTestServer('retention_serve', { retention: { sweepSeconds: 1 } }, { now: inDays(61) });
  t.after(() => server.stop());
  const drive = await startDriver(server.db);
  t.after(() => drive.close());
  const uuid = await drive.accept({ operations: [{}, {}] });
  await drive.settled(uuid);
  await waitFor(async () => (await leftOf(server.db, [uuid])).bulks === 0, 30_000, 'the server to sweep the bulk');
  const status = await server.request('GET', `/rest/V1/bulk/${uuid}/status`);
  assert.equal(status.status, 404);
  assert.deepEqual(status.json, { message: 'Bulk uuid %bulkUuid not exist', parameters: { bulkUuid: uuid } });
});
