/** SQL of the accept transaction: set-based, one statement per table for a whole group of requests. */
import { ident } from '../pool.ts';
import { insertWebhooks } from './webhooks.ts';
import { DB_SECOND } from './seconds.ts';

export const insertBulks = (schema: string) => `
  INSERT INTO ${ident(schema)}.bulk
    (uuid, user_id, user_type, description, operation_count, store_id, store_code, request_id, start_time)
  SELECT u.uuid, u.user_id, u.user_type, u.description, u.operation_count, u.store_id, u.store_code, u.request_id,
    coalesce(date_trunc('second', u.start_time), ${DB_SECOND})
  FROM unnest($1::uuid[], $2::int[], $3::smallint[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[],
    $9::timestamp[])
    AS u(uuid, user_id, user_type, description, operation_count, store_id, store_code, request_id, start_time)`;

/**
 * All operation rows of a group in one statement. Per-request values (bulk uuid, topic,
 * operationId) are sent once per request and picked by each row's request ordinal; per-operation
 * values go as delimited text instead of array parameters: node-postgres escapes every element of an
 * array parameter with two regex passes, which for 1,000 serialized operations (≈ 600 kB of
 * backslash-heavy double-encoded JSON) cost more than the insert. PHP's json_encode escapes every
 * control character, so a serialized_data never holds a newline; `operationInsertParams` falls back
 * to an array parameter ($6) if one ever does.
 */
export const insertOperations = (schema: string) => `
  INSERT INTO ${ident(schema)}.operation (bulk_uuid, operation_key, topic_name, operation_id, serialized_data)
  SELECT ($1::uuid[])[i.job], i.key, ($2::text[])[i.job], ($3::text[])[i.job], i.data
  FROM unnest(
    string_to_array($4::text, ',')::int[],
    string_to_array($5::text, ',')::int[],
    COALESCE($6::text[], string_to_array($7::text, E'\\n'))
  ) AS i(job, key, data)`;

/** A queue's job insert as the accept statement embeds it (src/queue/job-insert.ts). */
export interface JobInsertPart {
  /** pg-boss's `INSERT … RETURNING start_after`, its JSON payload written `$1`. */
  insert: string;
  /** pg-boss's `SELECT pg_notify(…)` for the queue, or null when it does not notify. */
  notify: string | null;
  /** pg-boss's clock, `<bossSchema>.job_now()`. */
  now: string;
}

export interface AcceptStatementShape {
  /** Whether the group registers completion webhooks (two more parameters). */
  webhooks: boolean;
  /** One job insert per queue the group's operations go to (one more parameter each). */
  queues: readonly JobInsertPart[];
}

/**
 * A whole group's writes as ONE statement: bulk rows, webhooks, operation rows and each queue's
 * jobs as data-modifying CTEs. Run on its own it is its own transaction (all or nothing, committed
 * before the result arrives), so an accept is one round trip instead of BEGIN, four statements and
 * COMMIT. The operations' foreign key to the bulk and the operation triggers (counters, order
 * keys, which read the bulk's store) fire at the end of the statement and see the bulk rows.
 * Parameters in order: `insertBulks`' nine, `insertWebhooks`' two when `webhooks`,
 * `insertOperations`' seven, then one JSON payload per queue. The result is one row, `notified`:
 * how many queues were told of runnable jobs (pg-boss's NOTIFY, sent at commit).
 */
export function insertAccepted(schema: string, shape: AcceptStatementShape): string {
  let next = 1;
  const shift = (sql: string) => {
    let highest = 0;
    const out = sql.replace(/\$(\d+)/g, (_m, n: string) => {
      highest = Math.max(highest, Number(n));
      return `$${Number(n) + next - 1}`;
    });
    next += highest;
    return out;
  };
  const ctes = [`bulks AS (${shift(insertBulks(schema))})`];
  if (shape.webhooks) ctes.push(`hooks AS (${shift(insertWebhooks(schema))})`);
  ctes.push(`operations AS (${shift(insertOperations(schema))})`);
  const notices: string[] = [];
  shape.queues.forEach((q, i) => {
    ctes.push(`jobs_${i} AS (${shift(q.insert)})`);
    if (q.notify) notices.push(`(${q.notify} FROM jobs_${i} WHERE start_after <= ${q.now} LIMIT 1)`);
  });
  const notified = notices.length > 0 ? `(SELECT count(*) FROM (${notices.join(' UNION ALL ')}) n)` : '0';
  return `WITH ${ctes.join(',\n  ')}\nSELECT ${notified}::int AS notified`;
}

export interface OperationRows {
  bulkUuid: string;
  topic: string;
  operationId: string;
  keys: readonly number[];
  serialized: readonly string[];
}

/** Parameters of `insertOperations` for the requests of one group (each with at least one operation). */
export function operationInsertParams(requests: readonly OperationRows[]): unknown[] {
  const jobs: string[] = [];
  const keys: string[] = [];
  const data: string[] = [];
  let splittable = true;
  for (let r = 0; r < requests.length; r++) {
    const { keys: k, serialized } = requests[r]!;
    const ordinal = String(r + 1);
    for (let i = 0; i < k.length; i++) {
      const s = serialized[i]!;
      if (s === '' || s.includes('\n')) splittable = false;
      jobs.push(ordinal);
      keys.push(String(k[i]));
      data.push(s);
    }
  }
  return [
    requests.map((r) => r.bulkUuid),
    requests.map((r) => r.topic),
    requests.map((r) => r.operationId),
    jobs.join(','),
    keys.join(','),
    splittable ? null : data,
    splittable ? data.join('\n') : null,
  ];
}

/**
 * Claims idempotency keys for a group. A live key (younger than the TTL) is left alone and not
 * returned; an expired one is taken over. The returned keys are the requests that may proceed.
 */
export const claimIdempotencyKeys = (schema: string) => `
  INSERT INTO ${ident(schema)}.idempotency_key AS k
    (user_type, user_id, key, request_hash, response_status, response_body, bulk_uuid)
  SELECT * FROM unnest($1::smallint[], $2::int[], $3::text[], $4::bytea[], $5::int[], $6::text[], $7::uuid[])
  ON CONFLICT (user_type, user_id, key) DO UPDATE SET
    request_hash = excluded.request_hash, response_status = excluded.response_status,
    response_body = excluded.response_body, bulk_uuid = excluded.bulk_uuid, created_at = now()
  WHERE k.created_at < now() - make_interval(secs => $8)
  RETURNING user_type, user_id, key`;

/** $4: the key's lifetime in seconds, or null for a key in use at all (see replayStoredResponse). */
export const findIdempotencyKey = (schema: string) => `
  SELECT request_hash, response_status, response_body FROM ${ident(schema)}.idempotency_key
  WHERE user_type = $1 AND user_id = $2 AND key = $3
    AND ($4::int IS NULL OR created_at >= now() - make_interval(secs => $4::int))`;

/** Deletes up to $2 keys older than $1 seconds (the sweeper repeats it while it deletes $2). */
export const deleteExpiredIdempotencyKeys = (schema: string) => `
  DELETE FROM ${ident(schema)}.idempotency_key WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM ${ident(schema)}.idempotency_key
    WHERE created_at < now() - make_interval(secs => $1) LIMIT $2))`;
