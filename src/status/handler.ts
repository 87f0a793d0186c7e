/**
 * The bulk status API (source notes §6, CONTRACT §4, §7) and what we add to it: bulk summary and
 * counts, retry, cancel, long-poll and streamed results. One function, `createStatusHandler`,
 * returns the app's `sync` dependency; it answers `false` for paths that are not its own.
 *
 * Access (decided here, CONTRACT §7): a caller holding
 * `Magento_Logging::system_magento_logging_bulk_operations` sees every bulk, as in Magento. Any
 * other authenticated caller sees only bulks whose `user_type`/`user_id` are its own; for any other
 * bulk, existing or not, it gets the same 401 as Magento's ACL failure, so the answer never tells
 * whether a foreign uuid exists. Guests always get 401 (all guests share user id 0, so "own" means
 * nothing for them), as Magento answers guests on these routes.
 */
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import type pg from 'pg';
import type { Caller } from '../http/app.ts';
import type { Logger, StoreScope } from '../plugins/api.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { sendJson } from '../http/respond.ts';
import { readBody } from '../http/body.ts';
import { withTransaction } from '../db/pool.ts';
import { bulkFinishedChannel } from '../queue/names.ts';
import * as sql from '../db/sql/status.ts';
import type { BulkSummaryRow } from '../db/sql/status.ts';
import { bulkStatus, isFinished, operationCounts } from './summary.ts';
import {
  compileOrderBy,
  compileWhere,
  DEFAULT_SEARCH_LIMITS,
  echoSearchCriteria,
  isUuid,
  parseQueryString,
  parseSearchCriteria,
  type QueryTree,
} from './search-criteria.ts';
import { clientFactory, createBulkFinishedListener, type BulkFinishedListener } from './listener.ts';

export const BULK_OPERATIONS_RESOURCE = 'Magento_Logging::system_magento_logging_bulk_operations';
const USER_TYPE_GUEST = 4;
const CANCELED_MESSAGE = 'Canceled';
/** Longest a long-poll sleeps between two reads of the bulk's state (see waitUntilFinished). */
const RECHECK_MS = 1000;

/** One operation to enqueue again after the retry API reopened it. */
export interface ReopenedJob {
  entity: string;
  bulkUuid: string;
  key: number;
  /** The operation's new `reopened` count: part of the job id, so the new job is a new job. */
  reopened: number;
}

/** Enqueues jobs inside the caller's transaction (src/queue/enqueue.ts, wired by the app). */
export type EnqueueFn = (client: pg.PoolClient, jobs: ReopenedJob[]) => Promise<void>;

export type SyncHandler = (
  ctx: Context,
  path: string,
  store: StoreScope,
  caller: () => Promise<Caller>,
) => Promise<boolean>;

export interface StatusHandler extends SyncHandler {
  /** Ends the shared LISTEN connection (server shutdown, tests). */
  close(): Promise<void>;
}

export interface StatusHandlerOptions {
  pool: pg.Pool;
  schema: string;
  log: Logger;
  isAllowed(caller: Caller, resource: string): Promise<boolean> | boolean;
  enqueue: EnqueueFn;
  /** The route entity (queue) of an operation, from its operationId (the route table knows). */
  entityOf(operationId: string): string;
  /** Connection settings for the dedicated LISTEN client; defaults to `pool`'s. */
  listenerPool?: pg.Pool;
  /** A listener to share (tests, or several handlers in one process); else one is made lazily. */
  listener?: BulkFinishedListener;
  limits?: Partial<StatusLimits>;
}

export interface StatusLimits {
  /** Largest `searchCriteria[page_size]`: Magento's `webapi/validation/maximum_page_size`, 300. */
  maxPageSize: number;
  /** Page size when none is given: Magento's `webapi/validation/default_page_size`, 20. */
  defaultPageSize: number;
  /** Largest `?waitSeconds=`; 60. */
  maxWaitSeconds: number;
  /** Body limit of the retry/cancel POSTs; 64 KiB. */
  maxBodyBytes: number;
  /** Rows per batch of results.ndjson; 1,000. */
  resultsBatchSize: number;
}

const DEFAULT_LIMITS: StatusLimits = {
  ...DEFAULT_SEARCH_LIMITS,
  maxWaitSeconds: 60,
  maxBodyBytes: 64 * 1024,
  resultsBatchSize: 1000,
};

type Route =
  | { kind: 'search' }
  | { kind: 'status' | 'detailed' | 'results' | 'retry' | 'cancel'; uuid: string }
  | { kind: 'count'; uuid: string; status: string };

/** Matches our paths (`/V<n>/bulk...`, already stripped of `/rest/<store>`); null: not ours. */
export function matchStatusRoute(method: string, path: string): Route | null {
  const segs = path.replace(/\/+$/, '').split('/');
  if (segs[0] !== '' || !/^V\d+$/.test(segs[1] ?? '') || segs[2] !== 'bulk') return null;
  if (segs.length === 3) return method === 'GET' ? { kind: 'search' } : null;
  const uuid = decodeSegment(segs[3]!);
  if (segs.length === 5) {
    const action = segs[4];
    if (method === 'GET') {
      if (action === 'status') return { kind: 'status', uuid };
      if (action === 'detailed-status') return { kind: 'detailed', uuid };
      if (action === 'results.ndjson') return { kind: 'results', uuid };
    }
    if (method === 'POST') {
      if (action === 'retry') return { kind: 'retry', uuid };
      if (action === 'cancel') return { kind: 'cancel', uuid };
    }
    return null;
  }
  if (segs.length === 6 && segs[4] === 'operation-status' && method === 'GET') {
    return { kind: 'count', uuid, status: decodeSegment(segs[5]!) };
  }
  return null;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function createStatusHandler(options: StatusHandlerOptions): StatusHandler {
  const { pool, schema, log } = options;
  const limits: StatusLimits = { ...DEFAULT_LIMITS, ...options.limits };
  let listener = options.listener ?? null;
  const ownListener = !options.listener;
  const getListener = (): BulkFinishedListener =>
    (listener ??= createBulkFinishedListener({
      connect: clientFactory(options.listenerPool ?? pool),
      channel: bulkFinishedChannel(schema),
      log,
    }));

  const unauthorized = () => new WebapiError(E.UNAUTHORIZED, { resources: BULK_OPERATIONS_RESOURCE });
  const notFound = (uuid: string) => new WebapiError(E.BULK_NOT_FOUND, { bulkUuid: uuid });

  interface Access {
    caller: Caller;
    /** Holds the ACL resource: every bulk is visible. */
    all: boolean;
  }

  async function access(callerFn: () => Promise<Caller>): Promise<Access> {
    const caller = await callerFn();
    if (await options.isAllowed(caller, BULK_OPERATIONS_RESOURCE)) return { caller, all: true };
    if (caller.userType === USER_TYPE_GUEST) throw unauthorized();
    return { caller, all: false };
  }

  /** Throws the 404 (ACL holders) or 401 (everyone else) for a bulk the caller may not see. */
  function checkBulk(a: Access, uuid: string, owner: { user_type: number | null; user_id: number | null } | undefined) {
    if (a.all) {
      if (!owner) throw notFound(uuid);
      return;
    }
    if (!owner || owner.user_type !== a.caller.userType || owner.user_id !== a.caller.userId) throw unauthorized();
  }

  async function summary(uuid: string): Promise<BulkSummaryRow | undefined> {
    // A malformed uuid cannot name a bulk: answer "not found" without asking Postgres to cast it.
    if (!isUuid(uuid)) return undefined;
    const { rows } = await pool.query<BulkSummaryRow>(sql.selectBulkSummary(schema), [uuid]);
    return rows[0];
  }

  async function owner(uuid: string) {
    if (!isUuid(uuid)) return undefined;
    const { rows } = await pool.query<{ user_type: number | null; user_id: number | null }>(
      sql.selectBulkOwner(schema),
      [uuid],
    );
    return rows[0];
  }

  async function status(ctx: Context, a: Access, uuid: string, detailed: boolean): Promise<void> {
    const query = parseQueryString(ctx.querystring);
    const wait = waitSeconds(query, limits.maxWaitSeconds);
    const withOperations = flag(query, 'operations', true);
    let row = await summary(uuid);
    checkBulk(a, uuid, row);
    if (wait > 0 && !isFinished(row!)) row = (await waitUntilFinished(ctx, uuid, wait)) ?? row;
    const bulk = row!;

    const body: Record<string, unknown> = {};
    if (withOperations) {
      const { rows } = await pool.query(
        detailed ? sql.selectDetailedOperations(schema) : sql.selectShortOperations(schema),
        [uuid],
      );
      body.operations_list = rows;
    }
    // Key order: Magento's BulkSummaryInterface reflection order (source notes §6), then ours.
    body.user_type = bulk.user_type;
    body.bulk_id = bulk.bulk_id;
    body.description = bulk.description;
    body.start_time = bulk.start_time;
    body.user_id = bulk.user_id;
    body.operation_count = bulk.operation_count;
    body.bulk_status = bulkStatus(bulk);
    body.operation_counts = operationCounts(bulk);
    sendJson(ctx, 200, body);
  }

  /**
   * Long-poll: subscribe first, then re-read on every wake-up until finished or out of time.
   * Reading after subscribing is what makes a notice between the read and the sleep harmless.
   */
  async function waitUntilFinished(ctx: Context, uuid: string, seconds: number): Promise<BulkSummaryRow | undefined> {
    const deadline = Date.now() + seconds * 1000;
    // Set by a wake-up; reset before each read, so a wake during the read is not slept through.
    let woken: boolean;
    let resume: (() => void) | null = null;
    const wake = () => {
      woken = true;
      resume?.();
    };
    let gone = false;
    const onClose = () => {
      // The client went away: stop waiting (and stop holding the listener slot).
      if (!ctx.res.writableEnded) {
        gone = true;
        wake();
      }
    };
    ctx.res.once('close', onClose);
    const unsubscribe = await getListener().subscribe(uuid, wake);
    let waiter: { id: string }[] = [];
    try {
      // Registered after subscribing and before the first read: a completion committed after the
      // registration notifies; one committed before it is seen by the read.
      ({ rows: waiter } = await pool.query<{ id: string }>(sql.registerWaiter(schema), [
        uuid,
        limits.maxWaitSeconds * 2,
      ]));
      for (;;) {
        woken = false;
        const row = await summary(uuid);
        if (!row || isFinished(row) || gone) return row;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return row;
        if (!woken) {
          await new Promise<void>((resolve) => {
            // NOTIFY usually wakes us at once. The safety net: two transactions that finish a bulk's
            // last operations concurrently each miss the other's uncommitted work, so neither sends
            // the notice; one O(1) re-read a second catches that without busy polling.
            const timer = setTimeout(resolve, Math.min(remaining, RECHECK_MS));
            resume = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          resume = null;
        }
      }
    } finally {
      unsubscribe();
      ctx.res.off('close', onClose);
      if (waiter[0]) await pool.query(sql.unregisterWaiter(schema), [waiter[0].id]).catch(() => {});
    }
  }

  async function count(ctx: Context, a: Access, uuid: string, rawStatus: string): Promise<void> {
    if (!a.all) checkBulk(a, uuid, await owner(uuid));
    if (!/^[1-5]$/.test(rawStatus)) throw new WebapiError(E.INVALID_OPERATION_STATUS);
    // Magento answers 0, not 404, for an unknown bulk.
    if (!isUuid(uuid)) return sendJson(ctx, 200, 0);
    const { rows } = await pool.query<{ n: number }>(sql.countOperationsByStatus(schema), [uuid, Number(rawStatus)]);
    sendJson(ctx, 200, rows[0]!.n);
  }

  async function search(ctx: Context, a: Access): Promise<void> {
    const criteria = parseSearchCriteria(parseQueryString(ctx.querystring), limits);
    const where = compileWhere(criteria, a.all ? null : a.caller);
    const values = where.values;
    const { rows: total } = await pool.query<{ n: number }>(sql.countSearchOperations(schema, where.sql), values);
    const offset = ((criteria.currentPage ?? 1) - 1) * criteria.pageSize;
    const text = sql.searchOperations(
      schema,
      where.sql,
      compileOrderBy(criteria),
      values.length + 1,
      values.length + 2,
    );
    const { rows } = await pool.query<Record<string, unknown>>(text, [...values, criteria.pageSize, offset]);
    const items = rows.map((r) => ({
      // OperationInterface reflection order: its own getExtensionAttributes first (source notes §6).
      extension_attributes: { start_time: r.start_time },
      id: r.id,
      bulk_uuid: r.bulk_uuid,
      topic_name: r.topic_name,
      serialized_data: r.serialized_data,
      result_serialized_data: r.result_serialized_data,
      status: r.status,
      result_message: r.result_message,
      error_code: r.error_code,
    }));
    sendJson(ctx, 200, { items, search_criteria: echoSearchCriteria(criteria), total_count: total[0]!.n });
  }

  async function retry(ctx: Context, a: Access, uuid: string): Promise<void> {
    const input = await jsonBody(ctx, limits.maxBodyBytes);
    const { statuses, errorCodes } = retryInput(input);
    const reopened = await withTransaction(pool, async (client) => {
      await lockAndCheck(client, a, uuid);
      const { rows } = await client.query<{ operation_key: number; operation_id: string; reopened: number }>(
        sql.reopenOperations(schema),
        [uuid, statuses, errorCodes],
      );
      if (rows.length > 0) {
        // Same transaction: the reopened rows and their new jobs commit together or not at all.
        await options.enqueue(
          client,
          rows.map((r) => ({
            entity: options.entityOf(r.operation_id),
            bulkUuid: uuid,
            key: r.operation_key,
            reopened: r.reopened,
          })),
        );
      }
      return rows.length;
    });
    log.info({ bulkUuid: uuid, reopened, statuses, errorCodes }, 'bulk operations reopened');
    sendJson(ctx, 200, { bulk_uuid: uuid, reopened });
  }

  async function cancel(ctx: Context, a: Access, uuid: string): Promise<void> {
    const input = await jsonBody(ctx, limits.maxBodyBytes);
    if (input !== null && (typeof input !== 'object' || Array.isArray(input) || Object.keys(input).length > 0)) {
      throw new WebapiError(E.FIELD_NOT_SUPPORTED, { fieldName: firstKey(input) });
    }
    const canceled = await withTransaction(pool, async (client) => {
      await lockAndCheck(client, a, uuid);
      const r = await client.query(sql.cancelOperations(schema), [uuid, CANCELED_MESSAGE]);
      return r.rowCount ?? 0;
    });
    log.info({ bulkUuid: uuid, canceled }, 'bulk operations canceled');
    sendJson(ctx, 200, { bulk_uuid: uuid, canceled });
  }

  async function lockAndCheck(client: pg.PoolClient, a: Access, uuid: string): Promise<void> {
    const row = isUuid(uuid)
      ? (await client.query<{ user_type: number | null; user_id: number | null }>(sql.lockBulk(schema), [uuid])).rows[0]
      : undefined;
    checkBulk(a, uuid, row);
  }

  async function results(ctx: Context, a: Access, uuid: string): Promise<void> {
    checkBulk(a, uuid, await owner(uuid));
    const batch = limits.resultsBatchSize;
    // Keyset batches on the primary key: the bulk is never held in memory, and Readable.from
    // pulls the next batch only when the socket drained the previous one (backpressure).
    async function* lines(): AsyncGenerator<string> {
      let last = -1;
      for (;;) {
        const { rows } = await pool.query<{
          id: number;
          status: number;
          result_serialized_data: string | null;
          result_message: string | null;
          error_code: number | null;
        }>(sql.selectResultsBatch(schema), [uuid, last, batch]);
        if (rows.length === 0) return;
        let chunk = '';
        for (const r of rows) chunk += resultLine(r) + '\n';
        yield chunk;
        last = rows[rows.length - 1]!.id;
        if (rows.length < batch) return;
      }
    }
    const stream = Readable.from(lines(), { objectMode: false });
    stream.on('error', (error) => log.error({ err: error, bulkUuid: uuid }, 'results.ndjson stream failed'));
    ctx.status = 200;
    ctx.set('Content-Type', 'application/x-ndjson; charset=utf-8');
    ctx.body = stream;
  }

  const handler = (async (ctx, path, _store, callerFn) => {
    const route = matchStatusRoute(ctx.method, path);
    if (!route) return false;
    // Magento checks the ACL before it looks at the input.
    const a = await access(callerFn);
    switch (route.kind) {
      case 'search':
        await search(ctx, a);
        break;
      case 'status':
        await status(ctx, a, route.uuid, false);
        break;
      case 'detailed':
        await status(ctx, a, route.uuid, true);
        break;
      case 'count':
        await count(ctx, a, route.uuid, route.status);
        break;
      case 'results':
        await results(ctx, a, route.uuid);
        break;
      case 'retry':
        await retry(ctx, a, route.uuid);
        break;
      case 'cancel':
        await cancel(ctx, a, route.uuid);
        break;
    }
    return true;
  }) as StatusHandler;
  handler.close = async () => {
    if (ownListener && listener) await listener.close();
    listener = ownListener ? null : listener;
  };
  return handler;
}

/** One results.ndjson line: `{"id","status","result","error"}`. */
export function resultLine(r: {
  id: number;
  status: number;
  result_serialized_data: string | null;
  result_message: string | null;
  error_code: number | null;
}): string {
  let result = 'null';
  const raw = r.result_serialized_data;
  if (raw !== null) {
    try {
      const parsed: unknown = JSON.parse(raw);
      // The stored JSON as is (keeps big numbers exact) unless a raw line break would split the line.
      result = /[\r\n\u2028\u2029]/.test(raw) ? JSON.stringify(parsed) : raw.trim();
    } catch {
      result = JSON.stringify(raw);
    }
  }
  const failed = r.status === 2 || r.status === 3 || r.status === 5;
  const error = failed ? JSON.stringify({ message: r.result_message, code: r.error_code }) : 'null';
  return `{"id":${r.id},"status":${r.status},"result":${result},"error":${error}}`;
}

function waitSeconds(query: QueryTree, max: number): number {
  const raw = query.waitSeconds;
  if (raw === undefined) return 0;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) > max) {
    throw new WebapiError(E.FIELD_VALUE_INVALID, {
      value: typeof raw === 'string' ? raw : 'array',
      fieldName: 'waitSeconds',
    });
  }
  return Number(raw);
}

function flag(query: QueryTree, name: string, fallback: boolean): boolean {
  const raw = query[name];
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new WebapiError(E.FIELD_VALUE_INVALID, { value: typeof raw === 'string' ? raw : 'array', fieldName: name });
}

async function jsonBody(ctx: Context, maxBytes: number): Promise<unknown> {
  const text = await readBody(ctx.req, maxBytes);
  if (text === null || text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new WebapiError(E.DECODING_ERROR);
  }
}

function firstKey(input: unknown): string {
  if (input && typeof input === 'object' && !Array.isArray(input)) return Object.keys(input)[0] ?? '';
  return typeof input;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Retry input: `statuses` (default [2, 3], only 2 and 3) and `errorCodes` (default: any). */
export function retryInput(input: unknown): { statuses: number[]; errorCodes: number[] | null } {
  if (input === null) return { statuses: [2, 3], errorCodes: null };
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new WebapiError(E.FIELD_TYPE_INVALID, { value: JSON.stringify(input), type: 'object' });
  }
  const body = input as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'statuses' && key !== 'errorCodes') throw new WebapiError(E.FIELD_NOT_SUPPORTED, { fieldName: key });
  }
  let statuses = [2, 3];
  if (body.statuses !== undefined) {
    const s = body.statuses;
    if (!Array.isArray(s) || s.length === 0 || !s.every((v) => v === 2 || v === 3)) {
      throw new WebapiError(E.INVALID_STATUS_LIST);
    }
    statuses = [...new Set(s as number[])];
  }
  let errorCodes: number[] | null = null;
  if (body.errorCodes !== undefined && body.errorCodes !== null) {
    const c = body.errorCodes;
    if (!Array.isArray(c) || !c.every((v) => isInt(v) && Math.abs(v) <= 2_147_483_647) || c.length > 1000) {
      throw new WebapiError(E.FIELD_VALUE_INVALID, { value: JSON.stringify(c), fieldName: 'errorCodes' });
    }
    errorCodes = c as number[];
  }
  return { statuses, errorCodes };
}
