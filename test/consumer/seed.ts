/**
 * Test and benchmark data: a bulk accepted by the real accept transaction (`AcceptCommitter`):
 * bulk row, open operation rows and their pg-boss jobs in one transaction.
 */
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { AcceptCommitter } from '../../src/accept/committer.ts';
import { ident, type Pool } from '../../src/db/pool.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import type { Route } from '../../src/routes/types.ts';

export interface SeedOptions {
  count: number;
  entity?: string;
  operationId?: string;
  topic?: string;
  storeId?: number;
  storeCode?: string | null;
  args?: (key: number) => unknown;
  bulkUuid?: string;
  /** Jobs per insert statement (pg-boss sends one JSON payload per statement). */
  chunk?: number;
}

export async function seedBulk(pool: Pool, boss: PgBoss, schema: string, options: SeedOptions): Promise<string> {
  const bulkUuid = options.bulkUuid ?? randomUUID();
  const topic = options.topic ?? 'async.V1.products.sku.PUT';
  const storeId = options.storeId ?? 1;
  const args = options.args ?? ((key: number) => ({ sku: `sku-${key}` }));
  const chunk = options.chunk ?? 10_000;
  const committer = new AcceptCommitter({
    pool,
    schema,
    async enqueue(client, jobs) {
      for (let i = 0; i < jobs.length; i += chunk) await enqueueOperations(client, boss, jobs.slice(i, i + chunk));
    },
    idempotencyTtlSeconds: 60,
    groupCommit: false,
    maxGroupOperations: Number.MAX_SAFE_INTEGER,
  });
  // The committer reads only these fields of the route.
  const route = {
    entity: options.entity ?? 'products',
    topic,
    operationId: options.operationId ?? 'PutV1ProductsSku',
  } as Route;
  const items = Array.from({ length: options.count }, (_, index) => ({
    index,
    hash: '',
    serialized: JSON.stringify({
      entity_id: null,
      entity_link: '',
      meta_information: JSON.stringify(args(index)),
      store_id: String(storeId),
    }),
  }));
  await committer.submit({
    bulk: {
      uuid: bulkUuid,
      userId: 1,
      userType: 1,
      description: `Topic ${topic}`,
      storeId,
      storeCode: options.storeCode ?? null,
      requestId: null,
    },
    route,
    items,
  });
  await committer.drain();
  return bulkUuid;
}

export async function statusCounts(pool: Pool, schema: string, bulkUuid: string): Promise<Record<number, number>> {
  const { rows } = await pool.query<{ status: number; n: string }>(
    `SELECT status, count(*) AS n FROM ${ident(schema)}.operation WHERE bulk_uuid = $1 GROUP BY status`,
    [bulkUuid],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export { waitFor } from '../support/wait.ts';

/** A logger that keeps quiet (tests assert on the database, not on log lines). */
export const silentLog = {
  info() {},
  warn() {},
  error() {},
  debug() {},
};
