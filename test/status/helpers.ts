/**
 * Shared set-up of the status tests: a tiny Koa app around the status routes (the app's error
 * middleware, Magento's routing path for sync requests, the routes on a router, 404 otherwise) on
 * 127.0.0.1:0, and direct inserts of bulks and
 * operations (the accept path is tested elsewhere; the counters come from the real triggers).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { Router } from '@koa/router';
import { routingPath } from '../../src/http/rest-front.ts';
import { errorMiddleware } from '../../src/http/middleware/errors.ts';
import type { Caller } from '../../src/kernel/caller.ts';
import type { Logger } from '../../src/plugin.ts';
import { ident, type Pool } from '../../src/db/pool.ts';
import {
  createStatusHandler,
  type ReopenedJob,
  type StatusHandler,
  type StatusHandlerOptions,
} from '../../src/status/handler.ts';

export const silentLog: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** The admin of the tests: holds the bulk-operations ACL resource. */
const caller = (userType: number, userId: number): Caller => ({
  userType,
  userId,
  resources: new Set(),
  tokenName: null,
});
export const ADMIN: Caller = caller(2, 1);
/** An integration without the resource: sees only its own bulks. */
export const OWNER: Caller = caller(1, 7);
export const OTHER: Caller = caller(3, 7);
export const GUEST: Caller = caller(4, 0);

export interface Harness {
  url: string;
  handler: StatusHandler;
  enqueued: { jobs: ReopenedJob[]; inTransaction: boolean }[];
  /** The caller of the next requests. */
  as(caller: Caller): void;
  /** Make the next enqueue call fail (to prove the retry transaction rolls back). */
  failNextEnqueue(): void;
  close(): Promise<void>;
}

export async function startHarness(
  pool: Pool,
  schema: string,
  extra: Partial<StatusHandlerOptions> = {},
): Promise<Harness> {
  let caller = ADMIN;
  let fail = false;
  const enqueued: Harness['enqueued'] = [];
  const handler = createStatusHandler({
    pool,
    schema,
    log: silentLog,
    isAllowed: (c) => c.userType === ADMIN.userType && c.userId === ADMIN.userId,
    entityOf: (operationId) => operationId.split('.')[0]!,
    async enqueue(client, jobs) {
      // A query in the same client sees the reopened rows only if we are inside its transaction.
      const { rows } = await client.query<{ open: boolean }>(
        `SELECT status = 4 AS open FROM ${ident(schema)}.operation WHERE bulk_uuid = $1 AND operation_key = $2`,
        [jobs[0]!.bulkUuid, jobs[0]!.key],
      );
      // The UPDATE that reopened the rows assigned a transaction id; an autocommit client has none.
      const tx = await client.query<{ tx: boolean }>(`SELECT txid_current_if_assigned() IS NOT NULL AS tx`);
      enqueued.push({ jobs, inTransaction: rows[0]!.open && tx.rows[0]!.tx });
      if (fail) {
        fail = false;
        throw new Error('enqueue failed');
      }
    },
    ...extra,
  });
  const app = new Koa();
  app.silent = true;
  app.use(errorMiddleware(silentLog, false));
  app.use(async (ctx, next) => {
    ctx.path = routingPath('sync', ctx.path);
    await next();
  });
  const router = new Router({ sensitive: true, strict: false });
  handler.routes(router, async (ctx, next) => {
    ctx.state.caller = caller;
    await next();
  });
  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    handler,
    enqueued,
    as(c) {
      caller = c;
    },
    failNextEnqueue() {
      fail = true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await handler.close();
    },
  };
}

export interface OperationSeed {
  key: number;
  status: number;
  topic?: string;
  operationId?: string;
  serialized?: string | null;
  result?: string | null;
  errorCode?: number | null;
  message?: string | null;
  startedAt?: string | null;
  willRetry?: boolean;
}

export async function insertBulk(
  pool: Pool,
  schema: string,
  bulk: {
    uuid: string;
    userType?: number | null;
    userId?: number | null;
    description?: string;
    operationCount: number;
    startTime?: string;
  },
  operations: OperationSeed[] = [],
): Promise<void> {
  const s = ident(schema);
  await pool.query(
    `INSERT INTO ${s}.bulk (uuid, user_type, user_id, description, operation_count, store_id, start_time)
     VALUES ($1, $2, $3, $4, $5, 1, coalesce($6::timestamp, (now() AT TIME ZONE 'UTC')))`,
    [
      bulk.uuid,
      bulk.userType ?? null,
      bulk.userId ?? null,
      bulk.description ?? 'Topic topic-5',
      bulk.operationCount,
      bulk.startTime ?? null,
    ],
  );
  if (operations.length === 0) return;
  await pool.query(
    `INSERT INTO ${s}.operation (bulk_uuid, operation_key, topic_name, operation_id, serialized_data,
       result_serialized_data, status, error_code, result_message, started_at, will_retry)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::smallint[], $8::int[],
       $9::text[], $10::timestamp[], $11::boolean[])`,
    [
      bulk.uuid,
      operations.map((o) => o.key),
      operations.map((o) => o.topic ?? 'topic-5'),
      operations.map((o) => o.operationId ?? 'products.save'),
      operations.map((o) => (o.serialized === undefined ? '{"entity_id":5}' : o.serialized)),
      operations.map((o) => o.result ?? null),
      operations.map((o) => o.status),
      operations.map((o) => o.errorCode ?? null),
      operations.map((o) => (o.message === undefined ? null : o.message)),
      operations.map((o) => o.startedAt ?? null),
      operations.map((o) => o.willRetry ?? false),
    ],
  );
}

/** Inserts `n` operations in one statement (large bulks for streaming and the benchmark). */
export async function insertLargeBulk(pool: Pool, schema: string, uuid: string, n: number, status = 1): Promise<void> {
  const s = ident(schema);
  await pool.query(
    `INSERT INTO ${s}.bulk (uuid, user_type, user_id, description, operation_count, store_id) VALUES ($1, 2, 1, 'Topic big', $2, 1)`,
    [uuid, n],
  );
  await pool.query(
    `INSERT INTO ${s}.operation (bulk_uuid, operation_key, topic_name, operation_id, serialized_data,
       result_serialized_data, status, result_message)
     SELECT $1, k, 'async.V1.products.POST', 'products.create', NULL, '{"sku":"sku-' || k || '","n":' || k || '}', $3,
       'Service execution success products.create'
     FROM generate_series(0, $2 - 1) AS k`,
    [uuid, n, status],
  );
}

export async function get(
  h: Harness,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(h.url + path, init);
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

export async function post(h: Harness, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(h.url + path, {
    method: 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}
