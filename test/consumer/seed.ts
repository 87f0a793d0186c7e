/**
 * Test and benchmark data: a bulk with its operation rows and jobs, written the way the accept
 * transaction writes them (one transaction, set-based).
 */
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { ident, withTransaction, type Pool } from '../../src/db/pool.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';

export interface SeedOptions {
  count: number;
  entity?: string;
  operationId?: string;
  topic?: string;
  storeId?: number;
  storeCode?: string | null;
  args?: (key: number) => unknown;
  bulkUuid?: string;
  /** Status each operation row starts with (default 4, open). */
  status?: (key: number) => number;
  /** Jobs per insert statement (pg-boss sends one JSON payload per statement). */
  chunk?: number;
}

export async function seedBulk(pool: Pool, boss: PgBoss, schema: string, options: SeedOptions): Promise<string> {
  const s = ident(schema);
  const bulkUuid = options.bulkUuid ?? randomUUID();
  const entity = options.entity ?? 'products';
  const topic = options.topic ?? 'async.V1.products.sku.PUT';
  const operationId = options.operationId ?? 'PutV1ProductsSku';
  const storeId = options.storeId ?? 1;
  const args = options.args ?? ((key: number) => ({ sku: `sku-${key}` }));
  const keys = Array.from({ length: options.count }, (_, i) => i);
  const data = keys.map((k) =>
    JSON.stringify({
      entity_id: null,
      entity_link: '',
      meta_information: JSON.stringify(args(k)),
      store_id: String(storeId),
    }),
  );
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO ${s}.bulk (uuid, user_id, user_type, description, operation_count, store_id, store_code)
       VALUES ($1, 1, 1, $2, $3, $4, $5)`,
      [bulkUuid, `Topic ${topic}`, options.count, storeId, options.storeCode ?? null],
    );
    await client.query(
      `INSERT INTO ${s}.operation (bulk_uuid, operation_key, topic_name, operation_id, serialized_data, status)
       SELECT $1, k, $2, $3, d, st FROM unnest($4::int[], $5::text[], $6::smallint[]) AS t(k, d, st)`,
      [bulkUuid, topic, operationId, keys, data, keys.map(options.status ?? (() => 4))],
    );
    const chunk = options.chunk ?? 10_000;
    for (let i = 0; i < keys.length; i += chunk) {
      await enqueueOperations(
        client,
        boss,
        keys.slice(i, i + chunk).map((key) => ({ entity, bulkUuid, key })),
      );
    }
  });
  return bulkUuid;
}

export async function statusCounts(pool: Pool, schema: string, bulkUuid: string): Promise<Record<number, number>> {
  const { rows } = await pool.query<{ status: number; n: string }>(
    `SELECT status, count(*) AS n FROM ${ident(schema)}.operation WHERE bulk_uuid = $1 GROUP BY status`,
    [bulkUuid],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A logger that keeps quiet (tests assert on the database, not on log lines). */
export const silentLog = {
  info() {},
  warn() {},
  error() {},
  debug() {},
};
