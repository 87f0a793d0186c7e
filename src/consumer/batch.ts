/**
 * One delivered batch of one queue, run by the rules of lifecycle.ts: the claimed operations run
 * through their handlers, up to `inFlight` at once, while their leases are kept; deliveries with
 * nothing to run are completed, busy ones put off.
 *
 * Two ways an outcome is written:
 * - A handler that used `ctx.tx` wrote inside the batch's shared transaction, in a savepoint of its
 *   own (transaction.ts). Its outcome waits for that transaction's commit, which writes every such
 *   outcome and completes their jobs (fenced by the claims) in one statement set and one WAL flush.
 *   The outcomes are written at commit time, not after each handler: an outcome's UPDATE locks the
 *   bulk's sharded counter rows, and holding them across later handlers serialised consumers.
 *   The transaction commits when the batch ends, or earlier once it has been open `flushAfterMs`.
 * - The others are recorded together, in the statement that completes their jobs (or, with a retry
 *   to schedule, in one transaction with it), at most `flushAfterMs` after they finished.
 *
 * Nothing accepted is lost or run twice when the shared transaction cannot commit: a claim taken
 * over (its outcome fenced out) rolls the whole transaction back, and a failed commit or an abandoned
 * transaction (a handler aborted in the middle of a statement, a lost claim) takes every operation in
 * it along; those are given back unrecorded (a new delivery at once, their claims released) and run
 * again, their effects having been rolled back with the transaction.
 *
 * When this throws, the caller fails the batch's jobs and gives back the claims still held.
 */
import type { Db, Job, JobAttempt } from 'pg-boss';
import { recordOutcomes as recordOutcomesSql, type OperationRow } from '../db/sql/lifecycle.ts';
import { OperationError } from '../kernel/operation-errors.ts';
import type { HandlerContext } from '../kernel/handler.ts';
import type { OperationJob } from '../queue/names.ts';
import { completionWithCte } from '../queue/pgboss-sql.ts';
import { openSecrets } from '../accept/secrets.ts';
import { classifyFailure, isRetriable, STATUS_COMPLETE, STATUS_RETRIABLY_FAILED } from './classify.ts';
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
  wakeWaiting,
  recordOn,
  recordOutcomes,
  releaseClaims,
  type Claimed,
  type LifecycleContext,
  type NotClaimed,
  type Outcome,
} from './lifecycle.ts';
import { prepared } from './prepared.ts';
import {
  SharedTransaction,
  TransactionAbortedError,
  TransactionLock,
  UnitTransaction,
  type TransactionSource,
} from './transaction.ts';

export interface BatchContext extends LifecycleContext {
  invoker: OperationInvoker;
  /** Outcomes wait at most about this long to be written (and a shared transaction to commit), ms. */
  flushAfterMs: number;
  /** Handlers of one batch running at once (`consumer.inFlight`). */
  inFlight: number;
  /**
   * Whether the handlers of a batch share one transaction (default). Off, each handler that uses
   * `ctx.tx` commits on its own: the benchmark's baseline.
   */
  shareTransactions?: boolean;
  /**
   * A batch handler for an operationId, if it has one: the batch's claims of that operationId run
   * together as one unit (see {@link BatchExecutor.runUnit}), returning an outcome per claim.
   */
  batchHandlerOf?(operationId: string): ((claims: Claimed[], unit: UnitContext) => Promise<Outcome[]>) | undefined;
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

/** What a unit of work sees: its savepoint of the shared transaction and its abort signal. */
export interface UnitContext {
  tx: UnitTransaction;
  /** Aborted at the handler timeout or when the batch's claims could lapse. */
  signal: AbortSignal;
}

/**
 * A batch handler's or a handler's work for `claims`: an outcome per claim, in their order. Throwing
 * fails every claim of the unit with that error (its savepoint rolled back).
 */
export type UnitWork = (unit: UnitContext) => Promise<Outcome[]>;

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

/**
 * Returns how many of the batch's operations it settled: ran (or skipped as canceled) and recorded.
 * Deliveries put off (busy), given back to run again, or with nothing left to run do not count:
 * `--max-messages` counts operations handled, as Magento counts messages.
 */
export async function processBatch(ctx: BatchContext, queue: string, jobs: Job<OperationJob>[]): Promise<number> {
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
  const executor = new BatchExecutor(ctx, queue, leases, startedAt, done);
  try {
    await putOff(
      ctx,
      queue,
      busy.map((b) => ({ job: b.job, delaySeconds: busyDelaySeconds(b), behind: b.wait === null })),
    );
    await finishCanceled(ctx, canceledGone);
    await executor.runAll(claims);
    await wakeWaiting(
      ctx,
      queue,
      claims.map((c) => ({ bulk: c.row.bulk_uuid, key: c.row.operation_key })),
    );
    return claims.length - executor.notSettled + canceledGone.length;
  } catch (error) {
    executor.abandon();
    throw new BatchFailure(error, leases.heldArrays());
  } finally {
    leases.stop();
  }
}

/**
 * Runs the claimed operations of one batch and writes their outcomes. `runUnit` is the seam for
 * anything that runs operations (one handler, or a batch handler for many operations): it runs the
 * work under the shared transaction with a savepoint of its own and records the outcomes it returns.
 */
export class BatchExecutor {
  #ctx: BatchContext;
  #queue: string;
  #leases: Leases;
  #startedAt: Date;
  /** Deliveries to complete with the next flush (nothing of theirs to record). */
  #done: JobAttempt[];
  #lock = new TransactionLock();
  #current: SharedTransaction | null = null;
  /** Outcomes of units kept or undone in each shared transaction (and how many units), written at its commit. */
  #inTransaction = new Map<SharedTransaction, { items: Pending[]; units: number }>();
  /** Outcomes of units that never used the transaction. */
  #pending: Pending[] = [];
  #pendingSince = 0;
  #flushing: Promise<void> = Promise.resolve();
  /** Claimed operations to give back unrecorded (their transaction could not commit). */
  #givenBack: (Claimed & { alone?: boolean })[] = [];
  #canceled: { bulk: string; key: number; token: number }[] = [];
  #source: TransactionSource;
  #notSettled = 0;

  constructor(ctx: BatchContext, queue: string, leases: Leases, startedAt: Date, done: JobAttempt[]) {
    this.#ctx = ctx;
    this.#queue = queue;
    this.#leases = leases;
    this.#startedAt = startedAt;
    this.#done = done;
    this.#source = { lock: this.#lock, current: () => this.#take() };
  }

  /**
   * Runs every claim, up to `inFlight` handlers at once. Claims of one batch never share an entity
   * key (the claim skips an operation with an unfinished earlier one of its key, and both are
   * unfinished in the claim's snapshot), so running them at once keeps every key's order.
   */
  async runAll(claims: Claimed[]): Promise<void> {
    const started: Promise<void>[] = [];
    let failure: { error: unknown } | null = null;
    const limit = Math.max(1, this.#ctx.inFlight);
    // A counted slot per unit in flight, and one waiter woken when a slot frees (no race over
    // every unit in flight for each start: that cost more than a no-op handler).
    let active = 0;
    let wake: (() => void) | null = null;
    const units = this.#plan(claims);
    for (let u = 0; u < units.length && !failure; u++) {
      while (active >= limit && !failure) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) break;
      if (u > 0 && this.#leases.lookDue(CANCEL_LOOK_MS)) await this.#leases.lookAgain(CANCEL_LOOK_MS);
      const unit = units[u]!;
      const starting: Claimed[] = [];
      for (const claim of unit.claims) {
        if (this.#leases.canceled(addressOf(claim.row.bulk_uuid, claim.row.operation_key))) {
          // Flagged by the cancel API before it started: it never runs.
          this.#canceled.push({
            bulk: claim.row.bulk_uuid,
            key: claim.row.operation_key,
            token: claim.row.lease_token,
          });
          this.#done.push(attemptOf(claim.job));
        } else starting.push(claim);
      }
      if (!starting.length) continue;
      const mayStart = starting.every((c) => this.#leases.mayStart(addressOf(c.row.bulk_uuid, c.row.operation_key)));
      if (this.#ctx.stopping() || !mayStart) {
        // Stopping, or the lease is too short for another handler: give the rest back to run at once.
        this.#givenBack.push(...starting, ...units.slice(u + 1).flatMap((x) => x.claims));
        break;
      }
      active++;
      const run = (unit.work ? this.runUnit(starting, unit.work) : this.runOperation(starting[0]!)).then(
        () => {},
        (error: unknown) => {
          failure ??= { error };
        },
      );
      started.push(
        run.then(() => {
          active--;
          const woken = wake;
          wake = null;
          woken?.();
        }),
      );
    }
    await Promise.all(started);
    if (failure) throw (failure as { error: unknown }).error;
    await this.#finish();
  }

  /**
   * The batch's units: the claims of an operationId with a batch handler (`ctx.batchHandlerOf`)
   * together, in one unit, every other claim in a unit of its own; in delivery order.
   */
  #plan(claims: Claimed[]): { claims: Claimed[]; work?: UnitWork }[] {
    const units: { claims: Claimed[]; work?: UnitWork }[] = [];
    const grouped = new Map<string, { claims: Claimed[]; work?: UnitWork }>();
    for (const claim of claims) {
      const id = claim.row.operation_id;
      const batch = this.#ctx.batchHandlerOf?.(id);
      if (!batch) {
        units.push({ claims: [claim] });
        continue;
      }
      let unit = grouped.get(id);
      if (!unit) {
        const group: Claimed[] = [];
        unit = { claims: group, work: (u) => batch(group, u) };
        grouped.set(id, unit);
        units.push(unit);
      }
      unit.claims.push(claim);
    }
    return units;
  }

  /** Runs one claimed operation through its handler (with its interceptors) as a unit. */
  runOperation(claim: Claimed): Promise<void> {
    const { row } = claim;
    return this.runUnit([claim], async ({ tx, signal }) => {
      const args = operationArgs(this.#ctx, row);
      const invocation = await this.#ctx.invoker.invoke(
        row.operation_id,
        args,
        operationContext(this.#ctx, row, tx, signal),
      );
      return [
        {
          status: STATUS_COMPLETE,
          errorCode: null,
          message: `Service execution success ${invocation.handler}`,
          // Magento stores the JSON of the service output, `null` for a void method.
          result: JSON.stringify(invocation.result ?? null),
        },
      ];
    });
  }

  /**
   * The executor's seam: runs `work` for `claims` under the batch's shared transaction, with a
   * savepoint of its own taken at its first `tx` query, and the handler deadline. Its outcomes are
   * written with the transaction's commit when it used `tx`, else set-based with the batch's others.
   * - `work` throws: every claim fails with that error; its savepoint is rolled back.
   * - It returns after a failed statement whose error it caught: every claim fails with
   *   {@link TransactionAbortedError} (its writes were lost with the aborted savepoint).
   * - Its deadline (`handlerTimeoutMs`) passes: every claim fails retriably; its savepoint is rolled
   *   back if no statement of it is still running, else the shared transaction is abandoned and
   *   everything else in it given back unrecorded.
   * - The batch's claims could lapse: nothing of it is written; the transaction it was in is
   *   abandoned (with everything in it) and its deliveries are left to expire.
   */
  async runUnit(claims: Claimed[], work: UnitWork): Promise<void> {
    const ctx = this.#ctx;
    // A delivery whose last batch transaction failed to commit runs in one of its own, so a unit
    // that cannot commit (a deferred constraint) fails alone instead of taking others along again.
    // With shared transactions off (the benchmark's baseline), every unit has one of its own.
    const alone = claims.every((c) => c.job.data.alone === true) || ctx.shareTransactions === false;
    const own = alone ? new SharedTransaction(ctx.pool, ctx.schema, ctx.searchPath) : null;
    const lost = this.#leases.lost.signal;
    const timeoutMs = ctx.policy.handlerTimeoutMs;
    const timeout = new AbortController();
    // The deadline is the handler's: time spent waiting for the transaction's lock (behind other
    // handlers' statements) does not count against it.
    let left = timeoutMs;
    let armedAt = performance.now();
    const arm = () => {
      armedAt = performance.now();
      return setTimeout(() => timeout.abort(new HandlerTimeoutError(timeoutMs)), left);
    };
    let timer = arm();
    let finished = false;
    const waits = {
      waiting: () => {
        clearTimeout(timer);
        left = Math.max(0, left - (performance.now() - armedAt));
      },
      entered: () => {
        if (!timeout.signal.aborted && !finished) timer = arm();
      },
    };
    const tx = new UnitTransaction(own ? { lock: new TransactionLock(), current: () => own } : this.#source, waits);
    const signal = AbortSignal.any([timeout.signal, lost]);
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    const ran = performance.now();
    let outcomes: Outcome[];
    let ok = false;
    try {
      const running = work({ tx, signal });
      // Work still running after its abort must not surface as an unhandled rejection.
      running.catch(() => {});
      outcomes = await Promise.race([running, aborted]);
      if (outcomes.length !== claims.length) {
        throw new Error(`The unit returned ${outcomes.length} outcomes for ${claims.length} operations.`);
      }
      ok = true;
      if (tx.aborted) {
        ok = false;
        outcomes = claims.map(() => asFailure(new TransactionAbortedError(tx.failedCode() ?? 'unknown')));
      }
    } catch (error) {
      if (lost.aborted) {
        logOf(ctx, claims[0]!.row).warn({ err: error }, 'operation abandoned: its claim could not be kept');
        await tx.abandon();
        for (const c of claims) this.#leases.drop(addressOf(c.row.bulk_uuid, c.row.operation_key));
        this.#notSettled += claims.length;
        return;
      }
      const cause = timeout.signal.aborted ? timeout.signal.reason : error;
      outcomes = claims.map((c) => {
        const failure = asFailure(cause, c.row);
        logOf(ctx, c.row)[failure.status === STATUS_RETRIABLY_FAILED ? 'warn' : 'info'](
          { err: error, status: failure.status },
          'operation failed',
        );
        return failure;
      });
    } finally {
      finished = true;
      clearTimeout(timer);
    }
    const seconds = (performance.now() - ran) / 1000;
    for (let i = 0; i < claims.length; i++) {
      ctx.observe?.({
        topic: claims[i]!.row.topic_name,
        status: outcomes[i]!.status,
        seconds,
        attempt: claims[i]!.row.attempts + 1,
      });
    }
    const items = claims.map((c, i) => ({ job: c.job, row: c.row, outcome: outcomes[i]! }));
    const ended = await tx.end(ok, (shared) => {
      let held = this.#inTransaction.get(shared);
      if (!held) this.#inTransaction.set(shared, (held = { items: [], units: 0 }));
      held.items.push(...items);
      held.units++;
    });
    if (ended === 'kept' || ended === 'undone') {
      const shared = tx.shared!;
      if (own) await this.#commit(own);
      else await this.#commitIfDue(shared);
    } else if (ended === 'lost') {
      // Its transaction is gone with its writes: it runs again.
      this.#givenBack.push(...claims);
    } else {
      // Untouched, or its own running statement made the transaction be abandoned (a handler
      // aborted mid-query): nothing of it was written, and its outcome (a failure, in the second
      // case) is recorded without a transaction so an always-hanging handler still uses its runs.
      if (ended === 'abandoned') {
        for (const item of items) {
          if (item.outcome.status === STATUS_COMPLETE) item.outcome = asFailure(new StatementStillRunningError());
        }
      }
      for (const item of items) this.#pend(item);
      if (Date.now() - this.#pendingSince >= ctx.flushAfterMs) await this.#flush();
    }
  }

  #pend(item: Pending): void {
    if (!this.#pending.length) this.#pendingSince = Date.now();
    this.#pending.push(item);
  }

  /** Claims of the batch that were not settled by it: given back to run again, or their claim lost. */
  get notSettled(): number {
    return this.#notSettled;
  }

  /** Abandons the open shared transaction (the batch failed): nothing in it commits. */
  abandon(): void {
    this.#current?.abandon();
  }

  /** The shared transaction a unit enters now (called under the lock). */
  #take(): SharedTransaction {
    if (this.#current?.gone) this.#settleGone(this.#current);
    this.#current ??= new SharedTransaction(this.#ctx.pool, this.#ctx.schema, this.#ctx.searchPath);
    return this.#current;
  }

  /** A shared transaction that ended without a commit: everything in it is given back. */
  #settleGone(shared: SharedTransaction): void {
    const items = this.#inTransaction.get(shared)?.items ?? [];
    this.#inTransaction.delete(shared);
    if (items.length) {
      this.#ctx.log.warn({ count: items.length }, 'batch transaction abandoned; its operations run again');
    }
    this.#givenBack.push(...items.map((i) => ({ job: i.job, row: i.row })));
    if (this.#current === shared) this.#current = null;
  }

  async #commitIfDue(shared: SharedTransaction): Promise<void> {
    const share = this.#ctx.shareTransactions !== false;
    if (share && performance.now() - shared.openedAt < this.#ctx.flushAfterMs) return;
    await this.#lock.acquire(true);
    try {
      if (this.#current === shared) await this.#commit(shared);
    } finally {
      this.#lock.release();
    }
  }

  /**
   * Commits a shared transaction (under the lock): its outcomes, retry jobs and job completions,
   * then COMMIT. An outcome fenced out (its claim was taken over) rolls it all back: that run must
   * leave no trace, and the others run again. A commit that fails gives them back too; when it
   * failed for what was written (a deferred constraint, not a lost connection), they come back to
   * run alone, and a unit that ran alone has its failure recorded.
   */
  async #commit(shared: SharedTransaction): Promise<void> {
    if (this.#current === shared) this.#current = null;
    const held = this.#inTransaction.get(shared) ?? { items: [], units: 0 };
    const items = held.items;
    if (shared.gone || !shared.opened) {
      this.#settleGone(shared);
      return;
    }
    this.#inTransaction.delete(shared);
    const ctx = this.#ctx;
    try {
      const client = await shared.client();
      if (items.length) {
        const recorded = await recordOn(ctx, client, this.#queue, items, [], this.#startedAt);
        if (recorded.length !== items.length) {
          ctx.log.warn(
            { fenced: items.length - recorded.length, count: items.length },
            'an operation claim lapsed; its batch transaction rolled back, the others run again',
          );
          await shared.end(new Error('rolled back'));
          this.#givenBack.push(...items.map((i) => ({ job: i.job, row: i.row })));
          return;
        }
      }
      await client.query('COMMIT');
      await shared.end();
    } catch (error) {
      await shared.end(error as Error);
      const lone = held.units === 1 && items.every((i) => i.job.data.alone === true);
      if (lone && !isRetriable(error)) {
        // Ran alone and still cannot commit: what it wrote is the failure, recorded without it.
        for (const i of items) this.#pend({ ...i, outcome: asFailure(error, i.row) });
        logOf(ctx, items[0]!.row).info({ err: error }, 'operation failed at commit');
        return;
      }
      ctx.log.warn({ err: error, count: items.length }, 'batch transaction failed to commit; its operations run again');
      const alone = isRetriable(error) ? undefined : true;
      this.#givenBack.push(...items.map((i) => ({ job: i.job, row: i.row, alone })));
      return;
    }
    for (const i of items) this.#leases.drop(addressOf(i.row.bulk_uuid, i.row.operation_key));
  }

  /** At the batch's end: the shared transaction committed, everything else written or given back. */
  async #finish(): Promise<void> {
    await this.#lock.acquire();
    try {
      if (this.#current) await this.#commit(this.#current);
      for (const shared of [...this.#inTransaction.keys()]) this.#settleGone(shared);
    } finally {
      this.#lock.release();
    }
    const ctx = this.#ctx;
    if (this.#canceled.length) {
      const c = this.#canceled;
      await releaseClaims(ctx, [c.map((x) => x.bulk), c.map((x) => x.key), c.map((x) => x.token)]);
      await finishCanceled(ctx, c);
      for (const x of c) this.#leases.drop(addressOf(x.bulk, x.key));
    }
    await this.#flush();
    if (this.#givenBack.length) {
      const back = this.#givenBack.splice(0);
      this.#notSettled += back.length;
      await putOff(
        ctx,
        this.#queue,
        back.map((c) => ({ job: c.job, delaySeconds: 0, alone: c.alone })),
        [back.map((c) => c.row.bulk_uuid), back.map((c) => c.row.operation_key), back.map((c) => c.row.lease_token)],
      );
      for (const c of back) this.#leases.drop(addressOf(c.row.bulk_uuid, c.row.operation_key));
    }
  }

  /** Writes the pending outcomes and completes the done deliveries; one flush at a time. */
  #flush(): Promise<void> {
    const run = this.#flushing.then(async () => {
      const items = this.#pending.splice(0);
      const done = this.#done.splice(0);
      try {
        await flushPending(this.#ctx, this.#queue, items, done, this.#startedAt);
      } catch (error) {
        // Still held, so the caller gives them back.
        this.#pending.unshift(...items);
        this.#done.unshift(...done);
        throw error;
      }
      // Dropped only once written: a failed flush leaves them held, so the caller gives them back.
      for (const p of items) this.#leases.drop(addressOf(p.row.bulk_uuid, p.row.operation_key));
    });
    this.#flushing = run.catch(() => {});
    return run;
  }
}

/** The handler context of one operation of a unit (a batch handler builds one per operation). */
export function operationContext(
  ctx: BatchContext,
  row: OperationRow,
  tx: UnitTransaction,
  signal: AbortSignal,
): HandlerContext {
  return {
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
    log: logOf(ctx, row),
  };
}

/** An operation's handler arguments, its sealed secret fields opened. */
export function operationArgs(ctx: BatchContext, row: OperationRow): unknown {
  return openSecrets(parseArgs(row.serialized_data), ctx.cryptKey);
}

/** A handler returned while a `ctx.tx` statement it did not await was still running. */
class StatementStillRunningError extends OperationError {
  constructor() {
    super(
      "The operation's handler returned while one of its ctx.tx statements was still running (not awaited); its writes were rolled back.",
    );
    this.name = 'StatementStillRunningError';
  }
}

class HandlerTimeoutError extends Error {
  readonly retriable = true;
  constructor(ms: number) {
    super(`The operation's handler did not finish within ${ms / 1000} s; it was aborted.`);
    this.name = 'HandlerTimeoutError';
  }
}

/** The handler's arguments: `serialized_data.meta_information` is itself a JSON string (Magento). */
function parseArgs(serialized: string | null): unknown {
  if (serialized === null) throw new Error('The operation has no serialized data to run with.');
  const data = JSON.parse(serialized) as { meta_information?: unknown };
  if (typeof data.meta_information !== 'string') throw new Error('The operation has no meta_information.');
  return JSON.parse(data.meta_information);
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
 * Settles what the shared transaction did not: records the outcomes of `items` and completes
 * their jobs and the `done` ones. Without a retry to schedule that is one statement (the outcome
 * UPDATE as a CTE in front of pg-boss's completion); with one, a transaction that also inserts the
 * retry jobs.
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
 * the outcome UPDATE goes in front of pg-boss's completion as one more data-modifying CTE
 * (src/queue/pgboss-sql.ts), so a batch costs one statement and one commit for both. A statement of
 * another shape gets the outcomes written in a statement of their own before it.
 */
function recordingDb(ctx: BatchContext, items: Pending[], startedAt: Date): Db {
  let recorded = false;
  return {
    async executeSql(text: string, values: unknown[] = []) {
      if (recorded) return ctx.pool.query(text, values);
      recorded = true;
      const outcomes = outcomeArrays(items, startedAt, ctx.policy.retryLimit);
      const combined = completionWithCte(
        text,
        'recorded',
        recordOutcomesSql(ctx.schema, { paramOffset: values.length }),
      );
      if (!combined) {
        await ctx.pool.query(prepared(recordOutcomesSql(ctx.schema, { asyncCommit: true }), outcomes));
        return ctx.pool.query(text, values);
      }
      return ctx.pool.query(prepared(combined, [...values, ...outcomes]));
    },
  };
}

/**
 * The operation's logger, made on first use: a pino child per operation costs more than a no-op
 * handler itself, and most operations never log.
 */
function logOf(ctx: LifecycleContext, row: OperationRow): LifecycleContext['log'] {
  return lazyChild(ctx.log, { bulk: row.bulk_uuid, key: row.operation_key, operationId: row.operation_id });
}

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
