/**
 * "Finished" has one definition (src/operations/finished.ts). The migrations' triggers, which
 * cannot import it, spell it in SQL; this file fails when the installed trigger functions say
 * anything else, and when the SQL and the TypeScript predicates disagree on any row.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import {
  bulkFinishedSql,
  bulkUnfinishedSql,
  finalSql,
  isBulkFinished,
  isUnfinished,
  unfinishedSql,
} from '../../src/operations/finished.ts';

describe('what "finished" means', () => {
  let db: TestDatabase;
  before(async () => (db = await createTestDatabase('finished')));
  after(() => db.drop());

  const definition = async (fn: string): Promise<string> => {
    const { rows } = await db.pool.query<{ def: string }>(
      `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 AND p.proname = $2`,
      [db.schema, fn],
    );
    assert.equal(rows.length, 1, `${fn} is installed`);
    return rows[0]!.def;
  };

  it('the counters trigger wakes long-polls for a bulk exactly when the definition says it is finished', async () => {
    assert.ok((await definition('count_updated')).includes(`HAVING ${bulkFinishedSql('c')}`));
  });

  it('the order trigger lets an operation go from its key exactly when the definition says it is final', async () => {
    assert.ok((await definition('order_updated')).includes(finalSql('n')));
  });

  it('the counters count `retrying` as status 2 with will_retry, the only unfinished status-2 rows', async () => {
    const def = await definition('count_updated');
    assert.ok(def.includes('(n.status = 2 AND n.will_retry)::int - (o.status = 2 AND o.will_retry)::int'));
  });

  const rows: [status: number, willRetry: boolean][] = [
    [1, false],
    [2, false],
    [2, true],
    [3, false],
    [4, false],
    [5, false],
  ];
  it('the SQL and TypeScript predicates agree on every status', async () => {
    for (const [status, willRetry] of rows) {
      const { rows: r } = await db.pool.query<{ unfinished: boolean; final: boolean }>(
        `SELECT ${unfinishedSql('o')} AS unfinished, ${finalSql('o')} AS final
         FROM (SELECT $1::smallint AS status, $2::boolean AS will_retry) o`,
        [status, willRetry],
      );
      const expected = isUnfinished({ status, will_retry: willRetry });
      assert.equal(r[0]!.unfinished, expected, `status ${status}, will_retry ${willRetry}`);
      assert.equal(r[0]!.final, !expected, `status ${status}, will_retry ${willRetry}`);
    }
    assert.deepEqual(
      rows.filter(([s, w]) => isUnfinished({ status: s, will_retry: w })),
      [
        [2, true],
        [4, false],
      ],
    );
  });

  const bulks: [open: number, retrying: number, finished: boolean][] = [
    [0, 0, true],
    [1, 0, false],
    [0, 1, false],
    [2, 3, false],
  ];
  it('a bulk is finished when its counters show nothing open and no retry coming', async () => {
    for (const [open, retrying, finished] of bulks) {
      assert.equal(isBulkFinished({ open, retrying }), finished);
      const { rows: r } = await db.pool.query<{ finished: boolean; unfinished: boolean }>(
        `SELECT ${bulkFinishedSql('c')} AS finished, ${bulkUnfinishedSql('c')} AS unfinished
         FROM (SELECT $1::int AS open, $2::int AS retrying) c`,
        [open, retrying],
      );
      assert.equal(r[0]!.finished, finished, `open ${open}, retrying ${retrying}`);
      assert.equal(r[0]!.unfinished, !finished);
    }
  });
});
