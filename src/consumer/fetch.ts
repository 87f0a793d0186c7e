/**
 * The consumer's fetch: pg-boss's own fetch statement (claim a batch of jobs), with the loading of
 * the batch's operations folded into it. pg-boss's statement is `WITH <ctes> UPDATE ... RETURNING`;
 * it becomes one more CTE, and the statement returns the claimed jobs joined to their runnable
 * operations (one statement per batch fewer). A statement of any other shape is run as it is, and
 * the batch loads its operations separately (see batch.ts).
 */
import type { Db } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { ident } from '../db/pool.ts';
import type { OperationRow } from '../db/sql/consumer.ts';
import { prepared } from './prepared.ts';

/** Set on a fetched job (by {@link fetchWithOperations}) when its operation was loaded with it. */
export const LOADED = '__operationLoaded';

const UUID = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

/** The fetch statement with the operations joined in, or null when its shape is not the known one. */
export function withOperations(text: string, schema: string): string | null {
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
  const s = ident(schema);
  return `${text.slice(0, main).trimEnd()},
    __claimed AS (${text.slice(main)})
    SELECT f.*, true AS "${LOADED}",
      o.bulk_uuid AS "__bulk_uuid", o.operation_key AS "__operation_key", o.topic_name AS "__topic_name",
      o.operation_id AS "__operation_id", o.serialized_data AS "__serialized_data", o.status AS "__status",
      o.attempts AS "__attempts", b.store_id AS "__store_id", b.store_code AS "__store_code"
    FROM __claimed f
    LEFT JOIN (${s}.operation o JOIN ${s}.bulk b ON b.uuid = o.bulk_uuid)
      ON o.bulk_uuid = CASE WHEN f.data->>'bulk' ~ ${UUID} THEN (f.data->>'bulk')::uuid END
      AND o.operation_key = CASE WHEN f.data->>'key' ~ '^[0-9]{1,9}$' THEN (f.data->>'key')::int END
      AND o.status IN (2, 4)`;
}

/** A pg-boss connection for `fetch` that folds the loading of the operations in. */
export function fetchWithOperations(pool: Pool, schema: string): Db {
  const folded = new Map<string, string | null>();
  return {
    executeSql(text, values) {
      let sql = folded.get(text);
      if (sql === undefined) folded.set(text, (sql = withOperations(text, schema)));
      return pool.query(prepared(sql ?? text, values ?? []));
    },
  };
}

/** The operation fetched with a job: undefined when it was not loaded with it, null when none is runnable. */
export function loadedOperation(job: object): OperationRow | null | undefined {
  const j = job as Record<string, unknown>;
  if (j[LOADED] !== true) return undefined;
  if (j.__bulk_uuid === null || j.__bulk_uuid === undefined) return null;
  return {
    bulk_uuid: j.__bulk_uuid as string,
    operation_key: j.__operation_key as number,
    topic_name: j.__topic_name as string,
    operation_id: j.__operation_id as string,
    serialized_data: j.__serialized_data as string | null,
    status: j.__status as number,
    attempts: j.__attempts as number,
    store_id: j.__store_id as number,
    store_code: j.__store_code as string | null,
  };
}
