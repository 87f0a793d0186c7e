/**
 * pg-boss's job completion with a write of ours in it, as one more data-modifying CTE after its own
 * (pgboss-sql.ts `completionWithCteAfter`): the consumer records a batch's outcomes in the statement
 * that completes their jobs, one statement and one commit for both, and fences each outcome by
 * its job's completion (the `results` CTE: the attempts pg-boss settled). A completion of another
 * shape gets the write as a statement of its own before it, fenced by its own look at the jobs.
 */
import type { Db } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { prepared } from '../db/prepared.ts';
import { completionWithCteAfter } from './pgboss-sql.ts';

export interface FoldedWrite {
  /**
   * The write as a CTE body whose placeholders start after pg-boss's `paramOffset` values, reading
   * the settled job ids from the CTE `settled` (one uuid column `id`).
   */
  cte(paramOffset: number, settled: string): string;
  /** The write as a statement of its own ($1 on). */
  alone: string;
  values: unknown[];
  /** The values of the CTE, when fewer than those of the statement alone. */
  cteValues?: unknown[];
}

/** A pg-boss connection for `complete` whose first statement carries `write`. */
export function completionFoldDb(pool: Pool, write: FoldedWrite): Db {
  let written = false;
  return {
    async executeSql(text: string, values: unknown[] = []) {
      if (written) return pool.query(text, values);
      written = true;
      const combined = completionWithCteAfter(text, 'recorded', write.cte(values.length, 'results'));
      if (!combined) {
        await pool.query(prepared(write.alone, write.values));
        return pool.query(text, values);
      }
      return pool.query(prepared(combined, [...values, ...(write.cteValues ?? write.values)]));
    },
  };
}
