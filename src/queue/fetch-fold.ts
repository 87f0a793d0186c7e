/**
 * pg-boss's own fetch statement (deliver a batch of jobs) with more folded into it: pg-boss's
 * statement is `WITH <ctes> UPDATE ... RETURNING`; the UPDATE becomes one more CTE
 * (`__delivered`), the fold adds its CTEs after it and its SELECT returns the delivered jobs: one
 * statement per batch. The consumer folds in the claim of the delivered operations
 * (src/operations/claims.sql.ts). A statement of any other shape is run as it is, and the caller
 * does the fold's work separately. The statement's shape is pinned in pgboss-sql.ts.
 */
import type { Db } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { prepared } from '../db/prepared.ts';
import { splitFetch } from './pgboss-sql.ts';

/**
 * What is folded into the fetch: CTEs after `delivered` (a CTE of the delivered job rows) and the
 * final SELECT. `address` reads an operation job's bulk and key (text) from a row `f` of it.
 */
export type FetchFold = (delivered: string, address: { bulk: string; key: string }) => { ctes: string; select: string };

/** The fetch statement with `fold` folded in, or null when its shape is not the known one. */
export function foldedFetch(text: string, fold: FetchFold): string | null {
  const parts = splitFetch(text);
  if (!parts) return null;
  const { ctes, select } = fold('__delivered', { bulk: `f.data->>'bulk'`, key: `f.data->>'key'` });
  return `${parts.ctes},
    __delivered AS (${parts.update}),
    ${ctes}
    ${select}`;
}

/**
 * A pg-boss connection for `fetch` whose statement carries `fold`. A folded statement that fails
 * with a data exception (SQLSTATE class 22: the fold read a delivered job's payload and could not
 * convert it) delivered nothing, and pg-boss's own statement runs instead: its jobs come back
 * without the fold's work, which the caller then does on its own (the claim: checked there).
 */
export function foldedFetchDb(pool: Pool, fold: FetchFold): Db {
  const folded = new Map<string, string | null>();
  return {
    async executeSql(text, bossValues = []) {
      let sql = folded.get(text);
      if (sql === undefined) folded.set(text, (sql = foldedFetch(text, fold)));
      if (sql === null) return pool.query(prepared(text, bossValues));
      try {
        return await pool.query(prepared(sql, bossValues));
      } catch (error) {
        if (!isDataException(error)) throw error;
        return pool.query(prepared(text, bossValues));
      }
    },
  };
}

const isDataException = (error: unknown): boolean =>
  typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('22');
