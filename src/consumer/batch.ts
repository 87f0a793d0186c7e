/**
 * One fetched batch of one queue: load the operations set-based, run each through its handler,
 * record the outcomes and settle every job. An operation whose handler used its transaction is
 * recorded and settled in that transaction; the others are recorded together, in the same
 * statement that completes their jobs. When this throws, the caller fails the batch's jobs that
 * are still active (so they are retried).
 */
import type { Db, Job, JobAttempt, PgBoss } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { loadOperations, recordOutcomes, selectCanceled, type OperationRow } from '../db/sql/consumer.ts';
import type { HandlerContext, Logger } from '../plugins/api.ts';
import { bossDb } from '../queue/adapter.ts';
import type { OperationJob } from '../queue/names.ts';
import { classifyFailure, STATUS_COMPLETE, STATUS_RETRIABLY_FAILED } from './classify.ts';
import type { OperationInvoker } from './invoker.ts';
import { loadedOperation } from './fetch.ts';
import { prepared } from './prepared.ts';
import { LazyTransaction } from './transaction.ts';

export interface BatchContext {
  pool: Pool;
  boss: PgBoss;
  schema: string;
  invoker: OperationInvoker;
  log: Logger;
  /** Outcomes of handlers without a transaction wait at most this long to be written. */
  flushAfterMs: number;
  /** Told of every handler run (metrics). */
  observe?(e: { topic: string; status: number; seconds: number; attempt: number }): void;
}

interface Outcome {
  status: number;
  errorCode: number | null;
  message: string;
  result: string | null;
}

interface Pending {
  job: JobAttempt;
  row: OperationRow;
  outcome: Outcome;
}

const addressOf = (bulk: string, key: number) => `${bulk.toLowerCase()}:${key}`;

/**
 * A batch whose handlers take a while looks again, at most this often, for operations the cancel
 * API canceled since the batch was loaded, and skips them: "not yet started" really means not
 * started. Fast batches never pay for the look.
 */
const CANCEL_CHECK_MS = 50;

export async function processBatch(ctx: BatchContext, queue: string, jobs: Job<OperationJob>[]): Promise<void> {
  const startedAt = new Date();
  // Loaded with the fetch (fetch.ts) when pg-boss's statement had the known shape, else here.
  let byAddress: Map<string, OperationRow> | null = null;
  if (jobs.length && loadedOperation(jobs[0]!) === undefined) {
    const { rows } = await ctx.pool.query<OperationRow>(
      prepared(loadOperations(ctx.schema), [jobs.map((j) => j.data.bulk), jobs.map((j) => j.data.key)]),
    );
    byAddress = new Map(rows.map((r) => [addressOf(r.bulk_uuid, r.operation_key), r]));
  }
  const pending: Pending[] = [];
  // Jobs with nothing to run: finished already (a retried job whose earlier attempt committed) or
  // gone with their bulk. They are completed with the next flush.
  const idle: JobAttempt[] = [];
  let pendingSince = 0;
  // Jobs that could not be settled stay active; throwing at the end makes the caller fail them (so
  // they are retried) instead of leaving them to expire.
  let unsettled = 0;
  let checkedAt = startedAt.getTime();
  let canceled = new Set<string>();

  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    const attempt: JobAttempt = { id: job.id, retryCount: job.retryCount };
    const row = byAddress ? byAddress.get(addressOf(job.data.bulk, job.data.key)) : loadedOperation(job);
    if (row && Date.now() - checkedAt >= CANCEL_CHECK_MS) {
      canceled = await canceledAmong(ctx, jobs.slice(i));
      checkedAt = Date.now();
    }
    if (!row || canceled.has(addressOf(row.bulk_uuid, row.operation_key))) {
      idle.push(attempt);
      continue;
    }
    const tx = new LazyTransaction(ctx.pool, ctx.schema);
    const ran = performance.now();
    const outcome = await runHandler(ctx, row, job, tx);
    ctx.observe?.({
      topic: row.topic_name,
      status: outcome.status,
      seconds: (performance.now() - ran) / 1000,
      attempt: job.retryCount + 1,
    });
    if (tx.started) {
      const fallback = await recordInTransaction(ctx, queue, attempt, row, outcome, tx, startedAt);
      if (fallback) {
        if (!pending.length) pendingSince = Date.now();
        pending.push({ job: attempt, row, outcome: fallback });
      }
    } else {
      if (!pending.length) pendingSince = Date.now();
      pending.push({ job: attempt, row, outcome });
    }
    if (pending.length && Date.now() - pendingSince >= ctx.flushAfterMs) {
      unsettled += await flush(ctx, queue, pending.splice(0), idle.splice(0), startedAt);
    }
  }
  unsettled += await flush(ctx, queue, pending, idle, startedAt);
  if (unsettled) throw new Error(`${unsettled} job(s) could not be settled; they are retried`);
}

async function canceledAmong(ctx: BatchContext, jobs: Job<OperationJob>[]): Promise<Set<string>> {
  const { rows } = await ctx.pool.query<{ bulk_uuid: string; operation_key: number }>(selectCanceled(ctx.schema), [
    jobs.map((j) => j.data.bulk),
    jobs.map((j) => j.data.key),
  ]);
  return new Set(rows.map((r) => addressOf(r.bulk_uuid, r.operation_key)));
}

async function runHandler(
  ctx: BatchContext,
  row: OperationRow,
  job: Job<OperationJob>,
  tx: LazyTransaction,
): Promise<Outcome> {
  const log = lazyChild(ctx.log, { bulk: row.bulk_uuid, key: row.operation_key, operationId: row.operation_id });
  try {
    const args = parseArgs(row.serialized_data);
    const handlerCtx: HandlerContext = {
      store: {
        id: row.store_code === 'all' ? 0 : row.store_id,
        code: row.store_code,
        explicit: row.store_code !== null,
      },
      tx,
      operation: {
        bulkUuid: row.bulk_uuid,
        key: row.operation_key,
        topic: row.topic_name,
        operationId: row.operation_id,
        attempt: job.retryCount + 1,
      },
      log,
    };
    const invocation = await ctx.invoker.invoke(row.operation_id, args, handlerCtx);
    return {
      status: STATUS_COMPLETE,
      errorCode: null,
      message: `Service execution success ${invocation.handler}`,
      // Magento stores the JSON of the service output, `null` for a void method.
      result: JSON.stringify(invocation.result ?? null),
    };
  } catch (error) {
    const failure = classifyFailure(error);
    const level = failure.status === STATUS_RETRIABLY_FAILED ? 'warn' : 'info';
    log[level]({ err: error, status: failure.status }, 'operation failed');
    return { status: failure.status, errorCode: failure.errorCode, message: failure.message, result: null };
  }
}

/** The handler's arguments: `serialized_data.meta_information` is itself a JSON string (Magento). */
function parseArgs(serialized: string | null): unknown {
  if (serialized === null) throw new Error('The operation has no serialized data to run with.');
  const data = JSON.parse(serialized) as { meta_information?: unknown };
  if (typeof data.meta_information !== 'string') throw new Error('The operation has no meta_information.');
  return JSON.parse(data.meta_information);
}

/**
 * Records the outcome, and settles the job, in the handler's own transaction. Returns null when
 * that is done (or nothing is left to do), or the outcome to record without a transaction when the
 * transaction could not be committed.
 */
async function recordInTransaction(
  ctx: BatchContext,
  queue: string,
  job: JobAttempt,
  row: OperationRow,
  outcome: Outcome,
  tx: LazyTransaction,
  startedAt: Date,
): Promise<Outcome | null> {
  let client;
  try {
    client = await tx.client();
  } catch (error) {
    // The transaction never opened, so the handler's writes never happened either.
    return outcome.status === STATUS_COMPLETE ? asFailure(error) : outcome;
  }
  try {
    if (outcome.status !== STATUS_COMPLETE) await client.query('ROLLBACK TO SAVEPOINT handler');
    const recorded = await client.query(recordOutcomes(ctx.schema), outcomeArrays([{ row, outcome }], startedAt));
    if (recorded.rowCount !== 1) {
      // Another attempt finished this operation first; ours must leave no trace.
      await client.query('ROLLBACK');
      client.release();
      return null;
    }
    const db = bossDb(client);
    const settled =
      outcome.status === STATUS_RETRIABLY_FAILED
        ? await ctx.boss.fail(queue, [job], { message: outcome.message }, { db })
        : await ctx.boss.complete(queue, [job], null, { db });
    if ((settled as { affected?: number }).affected !== 1) {
      // The claim lapsed (expired, heartbeat lost) and the job is another worker's now: committing
      // would duplicate the effect it is about to produce.
      await client.query('ROLLBACK');
      client.release();
      ctx.log.warn({ bulk: row.bulk_uuid, key: row.operation_key }, 'job claim lapsed; operation rolled back');
      return null;
    }
    await client.query('COMMIT');
    client.release();
    return null;
  } catch (error) {
    // The connection is suspect: drop it rather than return it to the pool.
    client.release(error as Error);
    ctx.log.warn({ err: error, bulk: row.bulk_uuid, key: row.operation_key }, 'operation transaction failed');
    return asFailure(error);
  }
}

function asFailure(error: unknown): Outcome {
  const failure = classifyFailure(error);
  return { status: failure.status, errorCode: failure.errorCode, message: failure.message, result: null };
}

function outcomeArrays(items: { row: OperationRow; outcome: Outcome }[], startedAt: Date): unknown[] {
  return [
    items.map((i) => i.row.bulk_uuid),
    items.map((i) => i.row.operation_key),
    items.map((i) => i.outcome.status),
    items.map((i) => i.outcome.errorCode),
    items.map((i) => i.outcome.message),
    items.map((i) => i.outcome.result),
    startedAt,
  ];
}

/**
 * Settles what the handlers' own transactions did not: records the outcomes of `items` and
 * completes their jobs (but for retriable failures) and the `idle` ones, in one statement, then
 * fails the retriable ones so pg-boss retries them. Status no later than job: a crash before the
 * fail leaves an active job over a status-2 operation, which its retry runs again; completion and
 * status commit together. Returns how many jobs were left unsettled.
 */
async function flush(
  ctx: BatchContext,
  queue: string,
  items: Pending[],
  idle: JobAttempt[],
  startedAt: Date,
): Promise<number> {
  const retry = items.filter((i) => i.outcome.status === STATUS_RETRIABLY_FAILED);
  const complete = [...idle];
  for (const i of items) if (i.outcome.status !== STATUS_RETRIABLY_FAILED) complete.push(i.job);
  try {
    if (complete.length) {
      await ctx.boss.complete(queue, complete, null, items.length ? { db: recordingDb(ctx, items, startedAt) } : {});
    } else if (items.length) {
      await ctx.pool.query(recordOutcomes(ctx.schema, { asyncCommit: true }), outcomeArrays(items, startedAt));
    }
  } catch (error) {
    ctx.log.error({ err: error, count: items.length + idle.length }, 'could not record operation outcomes');
    return items.length + idle.length;
  }
  if (retry.length) {
    await ctx.boss.fail(
      queue,
      retry.map((i) => i.job),
      { message: retry[0]!.outcome.message, operations: retry.length },
    );
  }
  return 0;
}

/**
 * A pg-boss connection that records the outcomes in the statement pg-boss completes the jobs with:
 * the outcome UPDATE goes in front of pg-boss's completion as one more data-modifying CTE, so a
 * batch costs one statement and one commit for both. A statement of another shape (a pg-boss
 * that completes in several statements, or without a leading WITH) gets the outcomes written in
 * a statement of their own before it, as the separate-statement design did.
 */
function recordingDb(ctx: BatchContext, items: Pending[], startedAt: Date): Db {
  let recorded = false;
  return {
    async executeSql(text: string, values: unknown[] = []) {
      if (recorded) return ctx.pool.query(text, values);
      recorded = true;
      const outcomes = outcomeArrays(items, startedAt);
      const head = /^\s*WITH\s+(?!RECURSIVE\b)/i.exec(text);
      if (!head) {
        await ctx.pool.query(recordOutcomes(ctx.schema, { asyncCommit: true }), outcomes);
        return ctx.pool.query(text, values);
      }
      const record = recordOutcomes(ctx.schema, { paramOffset: values.length });
      const combined = `WITH recorded AS (${record}),\n${text.slice(head[0].length)}`;
      return ctx.pool.query(prepared(combined, [...values, ...outcomes]));
    },
  };
}

type ChildLogger = Logger & { child?: (bindings: object) => Logger };

/**
 * The operation's logger, made on first use: a pino child per operation costs more than a no-op
 * handler itself, and most operations never log.
 */
function lazyChild(log: ChildLogger, bindings: object): Logger {
  let made: Logger | undefined;
  const get = (): Logger => (made ??= typeof log.child === 'function' ? log.child(bindings) : log);
  return {
    info: (obj, msg) => get().info(obj, msg),
    warn: (obj, msg) => get().warn(obj, msg),
    error: (obj, msg) => get().error(obj, msg),
    debug: (obj, msg) => get().debug(obj, msg),
  };
}
