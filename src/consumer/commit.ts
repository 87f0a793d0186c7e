/**
 * Writing a batch's outcomes. Two ways an outcome is written:
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
 * again, their effects having been rolled back with the transaction. A deadlock the outcome writes
 * meet is not such a failure: only those writes run again (docs/operation-lifecycle.md, Lock order).
 */
import type { Job, JobAttempt } from 'pg-boss';
import { finishCanceled } from '../operations/cancel.ts';
import type { Claimed, Leases } from '../operations/claims.ts';
import { addressOf, rowAddress, attemptOf, type OperationRow, type Outcome } from '../operations/operation.ts';
import { recordOutcomes as recordOutcomesSql } from '../operations/outcomes.sql.ts';
import { needsTransaction, outcomeArrays, recordOn, recordOutcomes, type Recorded } from '../operations/outcomes.ts';
import { bossSchemaFor } from '../queue/boss.ts';
import type { PoolClient } from '../db/pool.ts';
import { putOff } from '../operations/put-off.ts';
import { errorLogFields, failureOutcome, isLockConflict, isRetriable, STATUS_COMPLETE } from '../operations/status.ts';
import { OperationError } from '../kernel/operation-errors.ts';
import { completionFoldDb } from '../queue/completion-fold.ts';
import type { OperationJob } from '../queue/names.ts';
import type { BatchContext } from './batch.ts';
import { logOf } from './handler-context.ts';
import { SharedTransaction, TransactionLock, type TransactionSource, type UnitTransaction } from './transaction.ts';

/** Times a batch's outcome writes are tried when they meet a lock conflict (a deadlock). */
const LOCK_CONFLICT_ATTEMPTS = 5;

export interface Pending {
  job: Job<OperationJob>;
  row: OperationRow;
  outcome: Outcome;
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

/** The outcomes of one batch on their way to the database, and the claims given back. */
export class BatchWriter {
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
  #canceled: { bulk: string; key: number; job: string }[] = [];
  #source: TransactionSource;
  /** {@link transactionFor}'s answer for a unit that is not alone: the same for every one. */
  #shared: { source: TransactionSource; own: null };
  #notSettled = 0;

  constructor(ctx: BatchContext, queue: string, leases: Leases, startedAt: Date, done: JobAttempt[]) {
    this.#ctx = ctx;
    this.#queue = queue;
    this.#leases = leases;
    this.#startedAt = startedAt;
    this.#done = done;
    this.#source = { lock: this.#lock, current: () => this.#take() };
    this.#shared = { source: this.#source, own: null };
  }

  /**
   * Where a unit's `ctx.tx` writes: the batch's shared transaction, or (`alone`) one of its own, so
   * a unit that cannot commit fails alone instead of taking others along again.
   */
  transactionFor(alone: boolean): { source: TransactionSource; own: SharedTransaction | null } {
    if (!alone) return this.#shared;
    const own = new SharedTransaction(this.#ctx.pool, this.#ctx.schema, this.#ctx.searchPath);
    return { source: { lock: new TransactionLock(), current: () => own }, own };
  }

  /** A claim flagged by the cancel API before it started: it never runs. */
  cancel(claim: Claimed): void {
    this.#canceled.push({ bulk: claim.row.bulk_uuid, key: claim.row.operation_key, job: claim.job.id });
    this.#done.push(attemptOf(claim.job));
  }

  /** Claims given back unrun (stopping, lease too short, transaction gone): they run again at once. */
  giveBack(claims: readonly Claimed[]): void {
    this.#givenBack.push(...claims);
  }

  /**
   * Settles a unit that ended: its transaction view closed (`ok`: its savepoint kept), then its
   * outcomes written with the shared transaction's commit when it used `tx`, else set-based.
   */
  write(tx: UnitTransaction, own: SharedTransaction | null, ok: boolean, items: Pending[]): Promise<void> | undefined {
    // Untouched (most units): settled now, without waiting a turn for the transaction's end.
    if (tx.endUntouched()) return this.#pendAll(items);
    return this.#writeEntered(tx, own, ok, items);
  }

  async #writeEntered(
    tx: UnitTransaction,
    own: SharedTransaction | null,
    ok: boolean,
    items: Pending[],
  ): Promise<void> {
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
      this.#givenBack.push(...items.map((i) => ({ job: i.job, row: i.row })));
    } else {
      // Untouched, or its own running statement made the transaction be abandoned (a handler
      // aborted mid-query): nothing of it was written, and its outcome (a failure, in the second
      // case) is recorded without a transaction so an always-hanging handler still uses its runs.
      if (ended === 'abandoned') {
        for (const item of items) {
          if (item.outcome.status === STATUS_COMPLETE) item.outcome = failureOutcome(new StatementStillRunningError());
        }
      }
      await this.#pendAll(items);
    }
  }

  /** Outcomes to write set-based with the batch's others: flushed now if the oldest waited `flushAfterMs`. */
  #pendAll(items: Pending[]): Promise<void> | undefined {
    for (const item of items) this.#pend(item);
    return Date.now() - this.#pendingSince >= this.#ctx.flushAfterMs ? this.#flush() : undefined;
  }

  #pend(item: Pending): void {
    if (!this.#pending.length) this.#pendingSince = Date.now();
    this.#pending.push(item);
  }

  /** Claims of the batch that were not settled by it: given back to run again, or their claim lost. */
  get notSettled(): number {
    return this.#notSettled;
  }

  /** Claims abandoned to another worker (their claim could not be kept): not settled here. */
  lost(count: number): void {
    this.#notSettled += count;
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
        const recorded = await this.#recordInSavepoint(client, items);
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
        for (const i of items) this.#pend({ ...i, outcome: failureOutcome(error, i.row) });
        logOf(ctx, items[0]!.row).info({ err: error }, 'operation failed at commit');
        return;
      }
      ctx.log.warn(
        { ...errorLogFields(error), count: items.length },
        'batch transaction failed to commit; its operations run again',
      );
      const alone = isRetriable(error) ? undefined : true;
      this.#givenBack.push(...items.map((i) => ({ job: i.job, row: i.row, alone })));
      return;
    }
    for (const i of items) this.#leases.drop(rowAddress(i.row));
  }

  /**
   * Records the outcomes in the shared transaction, in a savepoint: a deadlock (or serialization
   * failure) met by these statements rolls back to it and they run again, so the handlers' writes
   * before it stay, and nothing that already ran runs again. One warning line per such conflict.
   */
  async #recordInSavepoint(client: PoolClient, items: Pending[]): Promise<Recorded[]> {
    for (let attempt = 1; ; attempt++) {
      await client.query('SAVEPOINT outcomes');
      try {
        return await recordOn(this.#ctx, client, this.#queue, items, [], this.#startedAt);
      } catch (error) {
        if (!isLockConflict(error) || attempt >= LOCK_CONFLICT_ATTEMPTS) throw error;
        await client.query('ROLLBACK TO SAVEPOINT outcomes');
        this.#ctx.log.warn(
          { ...errorLogFields(error), count: items.length, attempt },
          "writing a batch's outcomes met a lock conflict; written again (no operation runs again)",
        );
      }
    }
  }

  /** At the batch's end: the shared transaction committed, everything else written or given back. */
  async finish(): Promise<void> {
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
      );
      for (const c of back) this.#leases.drop(rowAddress(c.row));
    }
  }

  /** Writes the pending outcomes and completes the done deliveries; one flush at a time. */
  #flush(): Promise<void> {
    const run = this.#flushing.then(async () => {
      const items = this.#pending.splice(0);
      const done = this.#done.splice(0);
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await flushPending(this.#ctx, this.#queue, items, done, this.#startedAt);
            break;
          } catch (error) {
            // Rolled back whole (one statement, or one transaction): it simply runs again.
            if (!isLockConflict(error) || attempt >= LOCK_CONFLICT_ATTEMPTS) throw error;
            this.#ctx.log.warn(
              { ...errorLogFields(error), count: items.length + done.length, attempt },
              "writing a batch's outcomes met a lock conflict; written again (no operation runs again)",
            );
          }
        }
      } catch (error) {
        // Still held, so the caller gives them back.
        this.#pending.unshift(...items);
        this.#done.unshift(...done);
        throw error;
      }
      // Dropped only once written: a failed flush leaves them held, so the caller gives them back.
      for (const p of items) this.#leases.drop(rowAddress(p.row));
    });
    this.#flushing = run.catch(() => {});
    return run;
  }
}

/**
 * Settles what the shared transaction did not: records the outcomes of `items` and completes
 * their jobs and the `done` ones. Without a retry to schedule that is one statement (the outcome
 * UPDATE as a CTE in front of pg-boss's completion, src/queue/completion-fold.ts); with one, a
 * transaction that also inserts the retry jobs.
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
  const db = items.length
    ? completionFoldDb(ctx.pool, {
        cte: (paramOffset, settled) => outcomesSql(ctx, { paramOffset, settled }),
        // For the autocommit write that precedes the completion: the completion's own (synchronous)
        // commit flushes the WAL up to and including this one. One fsync per batch.
        alone: () => ({
          text: outcomesSql(ctx, { asyncCommit: true }),
          values: outcomeArrays(items, startedAt, ctx.policy, queue),
        }),
        // Folded, the completion names the queue (the 11th value) and fences the attempts: job ids.
        cteValues: outcomeArrays(items, startedAt, ctx.policy, queue, 'job ids').slice(0, 10),
      })
    : undefined;
  await ctx.boss.complete(queue, jobs, null, db ? { db } : {});
}

/** outcomes.sql.ts `recordOutcomes`, written once per schema and shape instead of once per batch. */
function outcomesSql(ctx: BatchContext, options: { asyncCommit?: boolean; paramOffset?: number; settled?: string }) {
  const bossSchema = bossSchemaFor(ctx.boss);
  const key = `${ctx.schema}\0${bossSchema}\0${options.asyncCommit ?? ''}\0${options.paramOffset ?? ''}\0${options.settled ?? ''}`;
  let sql = outcomeStatements.get(key);
  if (sql === undefined) outcomeStatements.set(key, (sql = recordOutcomesSql(ctx.schema, bossSchema, options)));
  return sql;
}

const outcomeStatements = new Map<string, string>();
