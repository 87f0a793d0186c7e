/**
 * The accept statement writes jobs with pg-boss's own insert, embedded (src/queue/job-insert.ts):
 * the installed pg-boss's insert still has the shape that relies on, the jobs it writes are the
 * jobs `boss.insert` writes (every column but the clock's), and workers are woken exactly when a
 * committed statement made a job runnable.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { insertJobs } from 'pg-boss/dist/plans.js';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import { JOB_INSERT_PGBOSS_VERSION, JobInserts, jobInsertFragment, jobsPayload } from '../../src/queue/job-insert.ts';
import { jobIdFor } from '../../src/queue/names.ts';
import { ident } from '../../src/db/pool.ts';
import { insertAccepted, operationInsertParams } from '../../src/db/sql/accept.ts';
import { utcTimestamp } from '../../src/kernel/clock.ts';

describe('the embedded job insert', () => {
  let db: TestDatabase;
  let boss: PgBoss;
  let inserts: JobInserts;

  before(async () => {
    db = await createTestDatabase('job_insert');
    boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    await ensureQueues(boss, ['products', 'customers']);
    inserts = new JobInserts(boss, db.bossSchema);
  });
  after(async () => {
    await boss.stop({ graceful: false });
    await db.drop();
  });

  /** One bulk of `keys` operations of `entity`, written by the accept statement (no transaction). */
  async function accept(client: pg.ClientBase, entity: string, keys: number[]): Promise<string> {
    const part = await inserts.fragment(`async.${entity}`);
    assert.ok(part, `a fragment for ${entity}`);
    const bulk = randomUUID();
    await client.query(insertAccepted(db.schema, { webhooks: false, queues: [part] }), [
      [bulk],
      [1],
      [1],
      [`Topic async.V1.${entity}.POST`],
      [keys.length],
      [1],
      ['default'],
      [null],
      [utcTimestamp(new Date())],
      ...operationInsertParams([
        {
          bulkUuid: bulk,
          topic: `async.V1.${entity}.POST`,
          operationId: 'PostV1Products',
          keys,
          serialized: keys.map((k) => `{"k":${k}}`),
        },
      ]),
      jobsPayload(keys.map((key) => ({ bulkUuid: bulk, key }))),
    ]);
    return bulk;
  }

  it('is pinned to the installed pg-boss, whose insert has the shape the fragment relies on', () => {
    const installed = JSON.parse(readFileSync('node_modules/pg-boss/package.json', 'utf8')) as { version: string };
    assert.equal(installed.version, JOB_INSERT_PGBOSS_VERSION, 'read the new insertJobs text, then move the pin');
    const fragment = jobInsertFragment('s', { name: 'async.products', table: 'job_common', notify: true });
    assert.ok(fragment, 'pg-boss insertJobs: one $1::text::json, INSERT … ON CONFLICT DO NOTHING, no RETURNING');
    assert.ok(
      fragment.insert.startsWith(
        insertJobs('s', { table: 'job_common', name: 'async.products', returnId: false }).trim(),
      ),
    );
    assert.match(fragment.insert, /RETURNING start_after$/);
    assert.equal(
      jobInsertFragment('s', { name: 'async.products', table: 'job_common', notify: false })?.notify,
      null,
      'a queue without notify sends none',
    );
  });

  it('writes the jobs boss.insert writes: same queue policy, data and deterministic ids', async () => {
    const viaBoss = randomUUID();
    await enqueueOperations(db.pool, boss, [{ entity: 'products', bulkUuid: viaBoss, key: 0 }]);
    const client = await db.pool.connect();
    let viaAccept: string;
    try {
      viaAccept = await accept(client, 'products', [0, 1]);
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query(
      `SELECT * FROM ${ident(db.bossSchema)}.job WHERE data->>'bulk' = ANY($1) ORDER BY data->>'bulk' = $2, id`,
      [[viaBoss, viaAccept], viaBoss],
    );
    assert.equal(rows.length, 3);
    const byBoss = rows.at(-1)!;
    const clockOrIdentity = new Set(['id', 'data', 'created_on', 'start_after', 'keep_until']);
    for (const row of rows.slice(0, 2)) {
      for (const [column, value] of Object.entries(byBoss)) {
        if (!clockOrIdentity.has(column)) assert.deepEqual(row[column], value, column);
      }
    }
    assert.deepEqual(
      rows.slice(0, 2).map((r) => [r.id, r.data]),
      [0, 1]
        .map((key) => [jobIdFor(viaAccept, key), { bulk: viaAccept, key }])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    // keep_until is start_after plus the queue's retention, as pg-boss computes it.
    const retention = (r: { keep_until: Date; start_after: Date }) => r.keep_until.getTime() - r.start_after.getTime();
    assert.equal(retention(rows[0]), retention(byBoss));
  });

  it("notifies pg-boss's channel once per committed statement, and not for a rolled back one", async () => {
    const { rows } = await db.pool.query(
      `SELECT 'pgboss_' || left(encode(sha224($1::text::bytea), 'hex'), 24) AS channel`,
      [db.bossSchema],
    );
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${ident(rows[0].channel)}`);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await accept(client, 'customers', [0, 1, 2]);
      await client.query('ROLLBACK');
      await accept(client, 'customers', [0, 1, 2]);
      // Notices arrive in commit order: once one sent after the commit is heard, the accept's has been.
      await db.pool.query('SELECT pg_notify($1, $2)', [rows[0].channel, 'end']);
      await waitFor(() => heard.includes('end'), 5000, 'the notice sent after the commit');
      assert.equal(heard.pop(), 'end');
    } finally {
      client.release();
      await listener.end();
    }
    assert.deepEqual(heard, ['async.customers']);
  });

  it('builds the JSON pg-boss reads', () => {
    const bulk = '2d3b8c0e-8a53-4f6f-9c55-8f1e5b2a9c01';
    const jobs = [0, 7, 4999].map((key) => ({ bulkUuid: bulk, key }));
    assert.deepEqual(
      JSON.parse(jobsPayload(jobs)),
      jobs.map((j) => ({ id: jobIdFor(bulk, j.key), data: { bulk, key: j.key } })),
    );
    assert.equal(jobsPayload([]), '[]');
  });

  it('has no fragment for a queue that does not exist (boss.insert then says so)', async () => {
    assert.equal(await inserts.fragment('async.nothing_here'), null);
  });
});
