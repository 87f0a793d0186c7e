/**
 * The consumer's fetch: pg-boss's own fetch statement (deliver a batch of jobs) with the claim of
 * their operations folded into it (src/db/sql/lifecycle.ts `claimDelivered`). pg-boss's statement
 * is `WITH <ctes> UPDATE ... RETURNING`; the UPDATE becomes one more CTE, and the statement returns
 * the delivered jobs joined to their claimed operations: one statement per batch. A statement of
 * any other shape is run as it is, and the batch claims separately (see lifecycle.ts).
 * The statement's shape is pinned in src/queue/pgboss-sql.ts.
 */
import type { Db } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { claimDelivered } from '../db/sql/lifecycle.ts';
import { splitFetch } from '../queue/pgboss-sql.ts';
import { prepared } from './prepared.ts';

/** The fetch statement with the claim folded in, or null when its shape is not the known one. */
export function withClaims(text: string, schema: string, leaseParam: number): string | null {
  const parts = splitFetch(text);
  if (!parts) return null;
  const { ctes, select } = claimDelivered(
    schema,
    '__delivered',
    { bulk: `f.data->>'bulk'`, key: `f.data->>'key'` },
    `$${leaseParam}`,
  );
  return `${parts.ctes},
    __delivered AS (${parts.update}),
    ${ctes}
    ${select}`;
}

/** A pg-boss connection for `fetch` that claims the delivered jobs' operations in the same statement. */
export function fetchWithClaims(pool: Pool, schema: string, leaseSeconds: number): Db {
  const folded = new Map<string, string | null>();
  return {
    executeSql(text, values = []) {
      let sql = folded.get(text);
      if (sql === undefined) folded.set(text, (sql = withClaims(text, schema, values.length + 1)));
      return pool.query(sql ? prepared(sql, [...values, leaseSeconds]) : prepared(text, values));
    },
  };
}
