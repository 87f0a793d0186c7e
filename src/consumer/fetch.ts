/**
 * The consumer's fetch: pg-boss's own fetch statement (deliver a batch of jobs) with the claim of
 * their operations folded into it (src/db/sql/lifecycle.ts `claimDelivered`). pg-boss's statement
 * is `WITH <ctes> UPDATE ... RETURNING`; the UPDATE becomes one more CTE, and the statement returns
 * the delivered jobs joined to their claimed operations: one statement per batch. A statement of
 * any other shape is run as it is, and the batch claims separately (see lifecycle.ts).
 * test/consumer/loop.test.ts pins the shape against the installed pg-boss.
 */
import type { Db } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { claimDelivered } from '../db/sql/lifecycle.ts';
import { prepared } from './prepared.ts';

/** The fetch statement with the claim folded in, or null when its shape is not the known one. */
export function withClaims(text: string, schema: string, leaseParam: number): string | null {
  const head = /^\s*WITH\s/i.exec(text);
  // Comments or dollar quotes would defeat the scan below; pg-boss's fetch has neither.
  if (!head || /--|\/\*|\$\$/.test(text)) return null;
  let depth = 0;
  let quoted: string | null = null;
  let main = -1;
  for (let i = head[0].length; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === quoted) quoted = null;
      continue;
    }
    if (c === "'" || c === '"') quoted = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /\s/.test(text[i - 1]!) && /^UPDATE\s/i.test(text.slice(i, i + 7))) {
      main = i;
      break;
    }
  }
  if (main < 0 || depth !== 0 || !/\bRETURNING\b/i.test(text.slice(main))) return null;
  const { ctes, select } = claimDelivered(
    schema,
    '__delivered',
    { bulk: `f.data->>'bulk'`, key: `f.data->>'key'` },
    `$${leaseParam}`,
  );
  return `${text.slice(0, main).trimEnd()},
    __delivered AS (${text.slice(main)}),
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
