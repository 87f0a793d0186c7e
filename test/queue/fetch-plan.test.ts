/**
 * The consumer's fetch is planned as an index walk whatever the planner's statistics say: a queue
 * analysed while empty and then loaded (the planner believes it holds a handful of runnable jobs)
 * is read in `job_i11` order and the scan stops at the batch, with no bitmap scan, sort, sequential
 * scan, hash or merge join anywhere in the folded statement (its joins are keyed lookups). Drained, it is the same walk: the dead entries
 * it passes are marked once, so an empty queue costs an index probe.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from 'pg-boss';
import { createTestDatabase } from '../support/db.ts';
import { analyzeJobs, createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { foldedFetch } from '../../src/queue/fetch-fold.ts';
import { fetchPool } from '../../src/queue/fetch-plan.ts';
import { jobIdFor } from '../../src/queue/names.ts';
import { claimFold } from '../../src/operations/claims.sql.ts';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

describe('fetch plan', () => {
  it('walks job_i11 in order and joins by keyed lookups, when the statistics are stale', async () => {
    const db = await createTestDatabase('fetch_plan');
    const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
    const fetching = fetchPool(db.pool, 1);
    try {
      await ensureQueues(boss, ['products', 'customers']);
      // Statistics of an empty queue, then a bulk load they know nothing of.
      await analyzeJobs(db.pool, db.bossSchema);
      const bulk = '00000000-0000-4000-8000-000000000001';
      for (let from = 0; from < 20_000; from += 5_000) {
        await boss.insert(
          'async.products',
          Array.from({ length: 5_000 }, (_, i) => ({
            id: jobIdFor(bulk, from + i),
            data: { bulk, key: from + i },
          })),
        );
      }

      const explain = async (queue: string): Promise<PlanNode[]> => {
        let captured: { text: string; values: unknown[] } | undefined;
        const capture: Db = {
          async executeSql(text, values = []) {
            captured = { text, values };
            return { rows: [] };
          },
        };
        await boss.fetch(queue, { batchSize: 100, db: capture });
        const folded = foldedFetch(captured!.text, claimFold(db.schema));
        assert.ok(folded, 'the fetch has the shape the fold knows');
        const client = await fetching.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${folded}`, captured!.values);
          return nodes((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan);
        } finally {
          await client.query('ROLLBACK');
          client.release();
        }
      };

      const { rows: settings } = await fetching.query(
        `SELECT current_setting('jit') AS jit, current_setting('enable_bitmapscan') AS bitmap`,
      );
      assert.deepEqual(settings[0], { jit: 'off', bitmap: 'off' }, 'the fetch connections are planned for it');
      for (const queue of ['async.products', 'async.customers']) {
        const plan = await explain(queue);
        const types = plan.map((n) => n['Node Type']);
        for (const avoided of [
          'Bitmap Heap Scan',
          'Bitmap Index Scan',
          'Sort',
          'Seq Scan',
          'Hash Join',
          'Merge Join',
        ]) {
          assert.ok(!types.includes(avoided), `${queue}: no ${avoided} in ${types.join(', ')}`);
        }
        const next = plan.find((n) => n['Subplan Name'] === 'CTE next')!;
        const scan = nodes(next).find((n) => n['Node Type'] === 'Index Scan');
        assert.match(scan?.['Index Name'] ?? '', /_i11$/, `${queue}: the runnable jobs are read from job_i11`);
      }
    } finally {
      await fetching.end();
      await boss.stop({ graceful: false });
      await db.drop();
    }
  });
});
