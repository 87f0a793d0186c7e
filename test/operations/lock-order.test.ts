/**
 * Lock order: writers of outcomes lock operation rows in (bulk, key) order and the counter triggers
 * upsert in bulk order, planned as usual on any connection; a deadlock that still happens is one
 * warning line, never a stack trace (test/consumer/deadlocks.test.ts drives real consumers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { ident } from '../../src/db/pool.ts';
import { outcomeArrays } from '../../src/operations/outcomes.ts';
import { DEFAULT_LIFECYCLE } from '../../src/operations/policy.ts';
import { errorLogFields } from '../../src/operations/status.ts';
import { FETCH_PLANNER_OPTIONS } from '../../src/queue/fetch-plan.ts';
import type { OperationRow } from '../../src/operations/operation.ts';
import type { Job } from 'pg-boss';
import type { OperationJob } from '../../src/queue/names.ts';

describe('lock order', () => {
  let db: TestDatabase;
  before(async () => (db = await createTestDatabase('lock_order')));
  after(() => db.drop());

  it('the counter triggers upsert their rows in bulk order, with the default planner even on a fetch connection', async () => {
    for (const fn of ['count_inserted', 'count_updated']) {
      const { rows } = await db.pool.query<{ def: string; config: string[] }>(
        `SELECT pg_get_functiondef(p.oid) AS def, p.proconfig AS config FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = $2`,
        [db.schema, fn],
      );
      assert.match(rows[0]!.def, /GROUP BY bulk_uuid ORDER BY bulk_uuid\s+ON CONFLICT/, fn);
      for (const setting of FETCH_PLANNER_OPTIONS.match(/enable_\w+/g)!) {
        assert.ok(rows[0]!.config.includes(`${setting}=on`), `${fn} plans with ${setting} on`);
      }
    }
  });

  it('outcomes are written in (bulk, key) order, whatever order the handlers finished in', () => {
    const row = (bulk: string, key: number) => ({ bulk_uuid: bulk, operation_key: key }) as OperationRow;
    const outcome = { status: 1, errorCode: null, message: 'ok', result: null };
    const a = '00000000-0000-4000-8000-00000000000a';
    const b = '00000000-0000-4000-8000-00000000000b';
    const job = { id: '00000000-0000-4000-8000-000000000000', retryCount: 0 } as Job<OperationJob>;
    const items = [row(b, 1), row(a, 7), row(b, 0), row(a, 2)].map((r) => ({ job, row: r, outcome }));
    const [bulks, keys] = outcomeArrays(items, new Date(), DEFAULT_LIFECYCLE, 'async.products');
    assert.deepEqual(
      (bulks as string[]).map((u, i) => `${u.slice(-1)}${(keys as number[])[i]}`),
      ['a2', 'a7', 'b0', 'b1'],
    );
  });

  it("a real deadlock's error is logged as its SQLSTATE and message on one line, with no stack", async () => {
    const s = ident(db.schema);
    await db.pool.query(`CREATE TABLE ${s}.pair (id int PRIMARY KEY)`);
    await db.pool.query(`INSERT INTO ${s}.pair VALUES (1), (2)`);
    const [one, two] = [await db.pool.connect(), await db.pool.connect()];
    try {
      await one.query('BEGIN');
      await two.query('BEGIN');
      await one.query(`UPDATE ${s}.pair SET id = id WHERE id = 1`);
      await two.query(`UPDATE ${s}.pair SET id = id WHERE id = 2`);
      const crosswise = await Promise.allSettled([
        one.query(`UPDATE ${s}.pair SET id = id WHERE id = 2`),
        two.query(`UPDATE ${s}.pair SET id = id WHERE id = 1`),
      ]);
      const deadlock = crosswise.find((r) => r.status === 'rejected')?.reason as Error & { code?: string };
      assert.equal(deadlock?.code, '40P01');
      const fields = errorLogFields(deadlock);
      assert.ok(!('err' in fields), 'no error object (and so no stack) in the line');
      assert.match((fields as { reason: string }).reason, /^40P01 deadlock detected$/);
      assert.doesNotMatch(JSON.stringify(fields), /\n|\bat /);
      // Anything unexpected is still logged whole.
      const odd = new TypeError('x is not a function');
      assert.deepEqual(errorLogFields(odd), { err: odd });
    } finally {
      await one.query('ROLLBACK').catch(() => {});
      await two.query('ROLLBACK').catch(() => {});
      one.release();
      two.release();
    }
  });
});
