/**
 * pg-boss's job completion with a write of ours in it, as one more data-modifying CTE after its own
 * (pgboss-sql.ts `completionWithCteAfter`): the consumer records a batch's outcomes in the statement
 * that completes their jobs, one statement and one commit for both, and fences each outcome by
 * its job's completion (the `results` CTE: the attempts pg-boss settled). A completion of another
 * shape gets the write as a statement of its own before it, fenced by its own look at the jobs.
 */
import pg from 'pg';
import type { Db } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { prepared } from '../db/prepared.ts';
import { withArrayLiterals } from './array-literal.ts';
import { completionWithCteAfter } from './pgboss-sql.ts';

export interface FoldedWrite {
  /**
   * The write as a CTE body whose placeholders start after pg-boss's `paramOffset` values, reading
   * the settled job ids from the CTE `settled` (one uuid column `id`).
   */
  cte(paramOffset: number, settled: string): string;
  /** The write as a statement of its own ($1 on), and its values (made only when it is so written). */
  alone(): { text: string; values: unknown[] };
  /** The values of the CTE. */
  cteValues: unknown[];
}

/** A pg-boss connection for `complete` whose first statement carries `write`. */
export function completionFoldDb(pool: Pool, write: FoldedWrite): Db {
  let written = false;
  return {
    async executeSql(text: string, values: unknown[] = []) {
      if (written) return pool.query(text, values);
      written = true;
      const combined = folded(text, write.cte(values.length, 'results'));
      if (!combined) {
        const alone = write.alone();
        await pool.query(prepared(alone.text, withArrayLiterals(alone.values)));
        return pool.query(text, values);
      }
      return pool.query({
        ...prepared(combined, withArrayLiterals([...values, ...write.cteValues])),
        types: UUID_ARRAYS,
      });
    },
  };
}

/**
 * The completion `text` with `cte` folded in, made once per pair: finding where pg-boss's statement
 * takes the CTE walks its text character by character, and every batch sends the same one.
 */
function folded(text: string, cte: string): string | null {
  let byCte = combined.get(text);
  if (!byCte) combined.set(text, (byCte = new Map()));
  let sql = byCte.get(cte);
  if (sql === undefined) byCte.set(cte, (sql = completionWithCteAfter(text, 'recorded', cte)));
  return sql;
}

const combined = new Map<string, Map<string, string | null>>();

/** PostgreSQL's oid of `uuid[]`. */
const UUID_ARRAY_OID = 2951;

/**
 * The completion returns the ids it settled as a `uuid[]` (100 per batch): node-postgres's array
 * parser reads it a character at a time (4% of the consumer's CPU in a no-op run). A uuid never
 * needs quoting in an array's text, so a split reads the same values.
 */
const UUID_ARRAYS = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === UUID_ARRAY_OID && format !== 'binary') return parseUuidArray;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function parseUuidArray(text: string): (string | null)[] {
  if (text === '{}') return [];
  return text
    .slice(1, -1)
    .split(',')
    .map((v) => (v === 'NULL' ? null : v));
}
