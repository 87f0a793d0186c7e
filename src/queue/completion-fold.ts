/**
 * pg-boss's job completion with a write of ours in front of it, as one more data-modifying CTE
 * (pgboss-sql.ts `completionWithCte`): the consumer records a batch's outcomes in the statement
 * that completes their jobs, one statement and one commit for both. A completion of another shape
 * gets the write as a statement of its own before it.
 */
import type { Db } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { prepared } from '../db/prepared.ts';
import { completionWithCte } from './pgboss-sql.ts';

export interface FoldedWrite {
  /** The write as a CTE body whose placeholders start after pg-boss's `paramOffset` values. */
  cte(paramOffset: number): string;
  /** The write as a statement of its own ($1 on). */
  alone: string;
  values: unknown[];
}

/** A pg-boss connection for `complete` whose first statement carries `write`. */
export function completionFoldDb(pool: Pool, write: FoldedWrite): Db {
  let written = false;
  return {
    async executeSql(text: string, values: unknown[] = []) {
      if (written) return pool.query(text, values);
      written = true;
      const combined = completionWithCte(text, 'recorded', write.cte(values.length));
      if (!combined) {
        await pool.query(prepared(write.alone, write.values));
        return pool.query(text, values);
      }
      return pool.query(prepared(combined, [...values, ...write.values]));
    },
  };
}
