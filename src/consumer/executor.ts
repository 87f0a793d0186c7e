/**
 * Runs the claimed operations of one batch: every unit (units.ts) starts at once, since the
 * consumer claimed only what it can start now (capacity.ts), each under its handler deadline
 * (deadline.ts), and their outcomes go to the batch's writer (commit.ts). `runUnit` is the seam for
 * anything that runs operations (one handler, or a batch handler for many operations).
 */
import { rowAddress, type Outcome } from '../operations/operation.ts';
import type { Claimed, Leases } from '../operations/claims.ts';
import { errorLogFields, failureOutcome, STATUS_RETRIABLY_FAILED, successOutcome } from '../operations/status.ts';
import type { BatchContext } from './batch.ts';
import type { BatchWriter } from './commit.ts';
import { DeadlineClock, HandlerDeadline } from './deadline.ts';
import { logOf, operationArgs, operationContext } from './handler-context.ts';
import { TransactionAbortedError, UnitTransaction } from './transaction.ts';
import { planUnits, type UnitWork } from './units.ts';

/**
 * A batch whose units take a while to start looks again, at most this often and without holding
 * any unit back, for operations the cancel API flagged since the claim, and skips them. Fast
 * batches never pay for the look.
 */
const CANCEL_LOOK_MS = 50;

export class BatchExecutor {
  #ctx: BatchContext;
  #leases: Leases;
  #writer: BatchWriter;
  #ended: (claims: readonly Claimed[]) => void;
  /** The running handlers' deadlines: one timer for them all, aborted together when the claims could lapse. */
  #clock = new DeadlineClock();

  /** `ended`: told of each unit's claims once its run ended (their capacity goes back). */
  constructor(ctx: BatchContext, leases: Leases, writer: BatchWriter, ended: (claims: readonly Claimed[]) => void) {
    this.#ctx = ctx;
    this.#leases = leases;
    this.#writer = writer;
    this.#ended = ended;
    leases.onLost = (reason) => this.#clock.abortAll(reason);
  }

  /**
   * Runs every claim at once. Claims of one batch never share an entity key (the claim skips an
   * operation with an unfinished earlier one of its key, and both are unfinished in the claim's
   * snapshot), so running them at once keeps every key's order.
   */
  async runAll(claims: Claimed[]): Promise<void> {
    const started: Promise<void>[] = [];
    let failure: { error: unknown } | null = null;
    const units = planUnits(claims, this.#ctx.batchHandlerOf);
    for (let u = 0; u < units.length && !failure; u++) {
      if (u > 0) this.#leases.lookSoon(CANCEL_LOOK_MS);
      const unit = units[u]!;
      const starting: Claimed[] = [];
      for (const claim of unit.claims) {
        if (this.#leases.canceled(rowAddress(claim.row))) this.#writer.cancel(claim);
        else starting.push(claim);
      }
      const mayStart = starting.every((c) => this.#leases.mayStart(rowAddress(c.row)));
      if (starting.length && (this.#ctx.stopping() || !mayStart)) {
        // Stopping, or the lease is too short for another handler: give the rest back to run at once.
        this.#writer.giveBack([...starting, ...units.slice(u + 1).flatMap((x) => x.claims)]);
        break;
      }
      if (!starting.length) continue;
      const run = unit.work ? this.runUnit(starting, unit.work) : this.runOperation(starting[0]!);
      started.push(
        run.then(
          () => this.#ended(starting),
          (error: unknown) => {
            failure ??= { error };
            this.#ended(starting);
          },
        ),
      );
    }
    await Promise.all(started);
    await this.#leases.looked();
    if (failure) throw (failure as { error: unknown }).error;
    await this.#writer.finish();
  }

  /** Runs one claimed operation through its handler (with its interceptors) as a unit. */
  runOperation(claim: Claimed): Promise<void> {
    const { row } = claim;
    return this.runUnit([claim], async (unit) => {
      const args = operationArgs(this.#ctx, row);
      const invocation = await this.#ctx.invoker.invoke(row.operation_id, args, operationContext(this.#ctx, row, unit));
      return [successOutcome(invocation.handler, invocation.result)];
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
    const { source, own } = this.#writer.transactionFor(alone);
    const lost = this.#leases.lost.signal;
    // The handler's signal aborts with the deadline or the batch's lost claims (the clock's
    // `abortAll`): the deadline's own controller (not AbortSignal.any: Node keeps a signal made by it
    // alive while it could still abort, and every unit with it: RSS +330 MiB over 100,000).
    const deadline = new HandlerDeadline(ctx.policy.handlerTimeoutMs, this.#clock);
    if (lost.aborted) deadline.abort(lost.reason);
    const tx = new UnitTransaction(source, deadline);
    // The unit's answer: its work's, or the deadline's abort, whichever comes first. One promise fed
    // by both, no listener on the signal nor Promise.race (they were a few percent of a no-op run).
    const settled = Promise.withResolvers<Outcome[]>();
    const ran = ctx.observe ? performance.now() : 0;
    let outcomes: Outcome[];
    let ok = false;
    try {
      const running = work({ tx, signal: deadline.signal, outsideDeadline: (pending) => deadline.outside(pending) });
      // Work still running after its abort settles nothing more (and surfaces no unhandled rejection).
      running.then(settled.resolve, settled.reject);
      // Fed only once `work` is running: a `work` that throws at once leaves no rejection unheard.
      if (deadline.aborted) settled.reject(deadline.reason);
      else deadline.onAbort = settled.reject;
      outcomes = await settled.promise;
      if (outcomes.length !== claims.length) {
        throw new Error(`The unit returned ${outcomes.length} outcomes for ${claims.length} operations.`);
      }
      ok = true;
      if (tx.aborted) {
        ok = false;
        outcomes = claims.map(() => failureOutcome(new TransactionAbortedError(tx.failedCode() ?? 'unknown')));
      }
    } catch (error) {
      if (lost.aborted) {
        logOf(ctx, claims[0]!.row).warn({ err: error }, 'operation abandoned: its claim could not be kept');
        await tx.abandon();
        for (const c of claims) this.#leases.drop(rowAddress(c.row));
        this.#writer.lost(claims.length);
        return;
      }
      const cause = deadline.aborted ? deadline.reason : error;
      outcomes = claims.map((c) => {
        const failure = failureOutcome(cause, c.row);
        logOf(ctx, c.row)[failure.status === STATUS_RETRIABLY_FAILED ? 'warn' : 'info'](
          { ...errorLogFields(error), status: failure.status },
          'operation failed',
        );
        return failure;
      });
    } finally {
      deadline.finish();
    }
    const seconds = (performance.now() - ran) / 1000;
    for (let i = 0; ctx.observe && i < claims.length; i++) {
      ctx.observe({
        topic: claims[i]!.row.topic_name,
        status: outcomes[i]!.status,
        seconds,
        attempt: claims[i]!.row.attempts + 1,
      });
    }
    const writing = this.#writer.write(
      tx,
      own,
      ok,
      claims.map((c, i) => ({ job: c.job, row: c.row, outcome: outcomes[i]! })),
    );
    if (writing) await writing;
  }
}
