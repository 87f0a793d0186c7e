/**
 * One delivered batch of one queue, run by the rules of lifecycle.ts: the claimed operations run
 * one after another through their handlers while their leases are kept; deliveries with nothing to
 * run are completed, busy ones put off. An operation whose handler used its transaction is
 * recorded and settled in that transaction; the others are recorded together, in the statement
 * that completes their jobs (or, with a retry to schedule, in one transaction with it). When this
 * throws, the caller fails the batch's jobs and gives back the claims still held.
 */
import type { Db, Job, JobAttempt } from 'pg-boss';
import { recordOutcomes as recordOutcomesSql, type OperationRow } from '../db/sql/lifecycle.ts';
import type { HandlerContext } from '../plugins/api.ts';
import type { OperationJob } from '../queue/names.ts';
import { openSecrets } from '../accept/secrets.ts';
import { classifyFailure, STATUS_COMPLETE, STATUS_RETRIABLY_FAILED } from './classify.ts';
import type { OperationInvoker } from './invoker.ts';
import {
  addressOf,
  attemptOf,
  busyDelaySeconds,
  claimSeparately,
  deliveredOf,
  finishCanceled,
  Leases,
  needsTransaction,
  outcomeArrays,
  putOff,
  recordOn,
  recordOutcomes,
  releaseClaims,
  type Claimed,
  type LifecycleContext,
  type NotClaimed,
  type Outcome,
} from './lifecycle.ts';
import { prepared } from './prepared.ts';
import { LazyTransaction } from './transaction.ts';

export interface BatchContext extends LifecycleContext {
  invoker: OperationInvoker;
  /** Outcomes of handlers without a transaction wait at most this long to be written. */
  flushAfterMs: number;
  /** The crypt key, to open sealed secret fields before the handler runs (src/accept/secrets.ts). */
  cryptKey: Buffer;
  /** True once the consumer is stopping: no further operation starts, the rest is given back. */
  stopping(): boolean;
  /** Told of every handler run (metrics). */
  observe?(e: { topic: string; status: number; seconds: number; attempt: number }): void;
  /** Search path of handler transactions (ConsumerOptions.searchPath). */
  searchPath?: readonly string[] | undefined;
}

interface Pending {
  job: Job<OperationJob>;
  row: OperationRow;
  outcome: Outcome;
}

/**
 * A batch whose handlers take a while looks again, at most this often, for operations the cancel
 * API flagged since the claim, and skips them. Fast batches never pay for the look.
 */
const CANCEL_LOOK_MS = 50;

/** What a batch leaves for its caller when it throws: the claims it still holds. */
export class BatchFailure extends Error {
  readonly held: [string[], number[], number[]];
  constructor(cause: unknown, held: [string[], number[], number[]]) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'BatchFailure';
    this.held = held;
  }
}

export async function processBatch(ctx: BatchContext, queue: string, jobs: Job<OperationJob>[]): Promise<void> {
  const startedAt = new Date();
  const claimedAt = performance.now();
  const delivered =
    jobs.length && deliveredOf(jobs[0]!) === undefined
      ? await claimSeparately(ctx, jobs)
      : jobs.map((j) => deliveredOf(j)!);
  const claims: Claimed[] = [];
  const done: JobAttempt[] = [];
  const busy: NotClaimed[] = [];
  const canceledGone: { bulk: string; key: number }[] = [];
  for (const d of delivered) {
    if ('row' in d) claims.push(d);
    else if (d.reason === 'busy') busy.push(d);
    else {
      if (d.reason === 'canceled') canceledGone.push({ bulk: d.job.data.bulk, key: d.job.data.key });
      done.push(attemptOf(d.job));
    }
  }
  const leases = new Leases(ctx, claims, claimedAt);
  try {
    await putOff(
      ctx,
      queue,
      busy.map((b) => ({ job: b.job, delaySeconds: busyDelaySeconds(b) })),
    );
    await finishCanceled(ctx, canceledGone);
    await runClaims(ctx, queue, claims, done, leases, startedAt);
  } catch (error) {
    throw new BatchFailure(error, leases.heldArrays());
  } finally {
    leases.stop();
  }
}

async function runClaims(
  ctx: BatchContext,
  queue: string,
  claims: Claimed[],
  done: JobAttempt[],
  leases: Leases,
  startedAt: Date,
): Promise<void> {
  const pending: Pending[] = [];
  let pendingSince = 0;
  const canceled: { bulk: string; key: number; token: number }[] = [];
  for (let i = 0; i < claims.length; i++) {
    const { job, row } = claims[i]!;
    const address = addressOf(row.bulk_uuid, row.operation_key);
    if (i > 0) await leases.lookAgain(CANCEL_LOOK_MS);
    if (leases.canceled(address)) {
      // Flagged by the cancel API before it started: it never runs.
      canceled.push({ bulk: row.bulk_uuid, key: row.operation_key, token: row.lease_token });
      done.push(attemptOf(job));
      continue;
    }
    if (ctx.stopping() || !leases.mayStart(address)) {
      // Stopping, or the lease is too short for another handler: give the rest back to run at once.
      const rest = claims.slice(i);
      const flushed = pending.splice(0);
      await flushPending(ctx, queue, flushed, done.splice(0), startedAt);
      for (const p of flushed) leases.drop(addressOf(p.row.bulk_uuid, p.row.operation_key));
      await putOff(
        ctx,
        queue,
        rest.map((c) => ({ job: c.job, delaySeconds: 0 })),
        leases.heldArrays(),
      );
      for (const c of rest) leases.drop(addressOf(c.row.bulk_uuid, c.row.operation_key));
      break;
    }
    const tx = new LazyTransaction(ctx.pool, ctx.schema, ctx.searchPath);
    const ran = performance.now();
    const outcome = await runHandler(ctx, row, tx, leases.lost.signal);
    if (outcome === null) {
      // The claim may lapse: nothing of this run is written, and its delivery is left to expire.
      tx.abandon();
      leases.drop(address);
      continue;
    }
    ctx.observe?.({
      topic: row.topic_name,
      status: outcome.status,
      seconds: (performance.now() - ran) / 1000,
      attempt: row.attempts + 1,
    });
    if (tx.started) {
      const fallback = await recordInTransaction(ctx, queue, job, row, outcome, tx, startedAt);
      if (fallback) {
        if (!pending.length) pendingSince = Date.now();
        pending.push({ job, row, outcome: fallback });
      } else {
        leases.drop(address);
      }
    } else {
      if (!pending.length) pendingSince = Date.now();
      pending.push({ job, row, outcome });
    }
    if (pending.length && Date.now() - pendingSince >= ctx.flushAfterMs) {
      // Dropped only once written: a failed flush leaves them held, so the caller gives them back.
      const flushed = pending.splice(0);
      await flushPending(ctx, queue, flushed, done.splice(0), startedAt);
      for (const p of flushed) leases.drop(addressOf(p.row.bulk_uuid, p.row.operation_key));
    }
  }
  if (canceled.length) {
    await releaseClaims(ctx, [canceled.map((c) => c.bulk), canceled.map((c) => c.key), canceled.map((c) => c.token)]);
    await finishCanceled(ctx, canceled);
    for (const c of canceled) leases.drop(addressOf(c.bulk, c.key));
  }
  await flushPending(ctx, queue, pending, done, startedAt);
  for (const p of pending) leases.drop(addressOf(p.row.bulk_uuid, p.row.operation_key));
}

class HandlerTimeoutError extends Error {
  readonly retriable = true;
  constructor(ms: number) {
    super(`The operation's handler did not finish within ${ms / 1000} s; it was aborted.`);
    this.name = 'HandlerTimeoutError';
  }
}

/**
 * Runs the handler with its deadline: aborted at the handler timeout (a retriable failure) or when
 * the claim could lapse (null: nothing may be written for this run).
 */
async function runHandler(
  ctx: BatchContext,
  row: OperationRow,
  tx: LazyTransaction,
  lost: AbortSignal,
): Promise<Outcome | null> {
  const log = lazyChild(ctx.log, { bulk: row.bulk_uuid, key: row.operation_key, operationId: row.operation_id });
  const timeoutMs = ctx.policy.handlerTimeoutMs;
  const timeout = new AbortController();
  const signal = AbortSignal.any([timeout.signal, lost]);
  let timer: NodeJS.Timeout | undefined;
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    timer = setTimeout(() => timeout.abort(new HandlerTimeoutError(timeoutMs)), timeoutMs);
    const args = openSecrets(parseArgs(row.serialized_data), ctx.cryptKey);
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
        attempt: row.attempts + 1,
        idempotencyKey: `${row.bulk_uuid}:${row.operation_key}`,
      },
      signal,
      log,
    };
    const running = ctx.invoker.invoke(row.operation_id, args, handlerCtx);
    // A handler still running after its abort must not surface as an unhandled rejection.
    running.catch(() => {});
    const invocation = await Promise.race([running, aborted]);
    return {
      status: STATUS_COMPLETE,
      errorCode: null,
      message: `Service execution success ${invocation.handler}`,
      // Magento stores the JSON of the service output, `null` for a void method.
      result: JSON.stringify(invocation.result ?? null),
    };
  } catch (error) {
    if (lost.aborted) {
      log.warn({ err: error }, 'operation abandoned: its claim could not be kept');
      return null;
    }
    if (timeout.signal.aborted) tx.abandon();
    const failure = classifyFailure(timeout.signal.aborted ? timeout.signal.reason : error, row);
    const level = failure.status === STATUS_RETRIABLY_FAILED ? 'warn' : 'info';
    log[level]({ err: error, status: failure.status }, 'operation failed');
    return {
      status: failure.status,
      errorCode: failure.errorCode,
      message: failure.message,
      result: null,
      retryAfterSeconds: failure.retryAfterSeconds,
    };
  } finally {
    clearTimeout(timer);
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
 * Records the outcome, and settles the job, in the handler's own transaction (its writes commit
 * only with an outcome our claim still fences). Returns null when that is done (or the claim was
 * lost, so nothing is left to do), or the outcome to record without a transaction when the
 * transaction could not be committed.
 */
async function recordInTransaction(
  ctx: BatchContext,
  queue: string,
  job: Job<OperationJob>,
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
    return outcome.status === STATUS_COMPLETE ? asFailure(error, row) : outcome;
  }
  try {
    if (outcome.status !== STATUS_COMPLETE) await client.query('ROLLBACK TO SAVEPOINT handler');
    const recorded = await recordOn(ctx, client, queue, [{ job, row, outcome }], [], startedAt);
    if (recorded.length !== 1) {
      // The claim was taken over: this run's writes must leave no trace.
      await client.query('ROLLBACK');
      client.release();
      ctx.log.warn({ bulk: row.bulk_uuid, key: row.operation_key }, 'operation claim lapsed; its run rolled back');
      return null;
    }
    await client.query('COMMIT');
    client.release();
    return null;
  } catch (error) {
    // The connection is suspect: drop it rather than return it to the pool.
    client.release(error as Error);
    ctx.log.warn({ err: error, bulk: row.bulk_uuid, key: row.operation_key }, 'operation transaction failed');
    return asFailure(error, row);
  }
}

function asFailure(error: unknown, row?: OperationRow): Outcome {
  const failure = classifyFailure(error, row);
  return {
    status: failure.status,
    errorCode: failure.errorCode,
    message: failure.message,
    result: null,
    retryAfterSeconds: failure.retryAfterSeconds,
  };
}

/**
 * Settles what the handlers' own transactions did not: records the outcomes of `items` and
 * completes their jobs and the `done` ones. Without a retry to schedule that is one statement
 * (the outcome UPDATE as a CTE in front of pg-boss's completion); with one, a transaction that
 * also inserts the retry jobs.
 */
async function flushPending(
  ctx: BatchContext,
  queue: string,
  items: Pending[],
  done: JobAttempt[],
  startedAt: Date,
): Promise<void> {
  if (!items.length && !done.length) return;
  if (needsTransaction(items)) {
    await recordOutcomes(ctx, queue, items, done, startedAt);
    return;
  }
  const jobs = [...items.map((i) => attemptOf(i.job)), ...done];
  await ctx.boss.complete(queue, jobs, null, items.length ? { db: recordingDb(ctx, items, startedAt) } : {});
}

/**
 * A pg-boss connection that records the outcomes in the statement pg-boss completes the jobs with:
 * the outcome UPDATE goes in front of pg-boss's completion as one more data-modifying CTE, so a
 * batch costs one statement and one commit for both. A statement of another shape gets the
 * outcomes written in a statement of their own before it.
 */
function recordingDb(ctx: BatchContext, items: Pending[], startedAt: Date): Db {
  let recorded = false;
  return {
    async executeSql(text: string, values: unknown[] = []) {
      if (recorded) return ctx.pool.query(text, values);
      recorded = true;
      const outcomes = outcomeArrays(items, startedAt, ctx.policy.retryLimit);
      const head = /^\s*WITH\s+(?!RECURSIVE\b)/i.exec(text);
      if (!head) {
        await ctx.pool.query(prepared(recordOutcomesSql(ctx.schema, { asyncCommit: true }), outcomes));
        return ctx.pool.query(text, values);
      }
      const record = recordOutcomesSql(ctx.schema, { paramOffset: values.length });
      const combined = `WITH recorded AS (${record}),\n${text.slice(head[0].length)}`;
      return ctx.pool.query(prepared(combined, [...values, ...outcomes]));
    },
  };
}

/**
 * The operation's logger, made on first use: a pino child per operation costs more than a no-op
 * handler itself, and most operations never log.
 */
function lazyChild(
  log: LifecycleContext['log'] & { child?: (bindings: object) => LifecycleContext['log'] },
  bindings: object,
): LifecycleContext['log'] {
  let made: LifecycleContext['log'] | undefined;
  const get = () => (made ??= typeof log.child === 'function' ? log.child(bindings) : log);
  return {
    info: (obj, msg) => get().info(obj, msg),
    warn: (obj, msg) => get().warn(obj, msg),
    error: (obj, msg) => get().error(obj, msg),
    debug: (obj, msg) => get().debug(obj, msg),
  };
}
