/**
 * One delivered batch of one queue, run by the lifecycle's rules (src/operations): the claimed
 * operations run through their handlers (executor.ts) while their leases are kept; deliveries with
 * nothing to run are completed, busy ones put off. Outcomes are written by commit.ts.
 *
 * When this throws, the caller fails the batch's jobs and gives back the claims still held.
 */
import type { Job, JobAttempt } from 'pg-boss';
import { finishCanceled } from '../operations/cancel.ts';
import {
  claimSeparately,
  deliveredOf,
  Leases,
  oneClaimPerOperation,
  type Claimed,
  type NotClaimed,
} from '../operations/claims.ts';
import { attemptOf } from '../operations/operation.ts';
import type { LifecycleContext } from '../operations/policy.ts';
import { busyDelaySeconds, putOff, wakeWaiting } from '../operations/put-off.ts';
import { wakeDependants, type Looked } from '../operations/requires.ts';
import type { OperationJob } from '../queue/names.ts';
import type { Hold } from './capacity.ts';
import { BatchWriter } from './commit.ts';
import { BatchExecutor } from './executor.ts';
import type { Gate } from '../kernel/gate.ts';
import type { OperationInvoker } from './invoker.ts';
import { lookFirst, type Dependencies } from './requirements.ts';
import type { BatchHandlerOf } from './units.ts';

export type { UnitContext, UnitWork } from './units.ts';

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
  batchHandlerOf?: BatchHandlerOf;
  /** The crypt key, to open sealed secret fields before the handler runs (src/accept/secrets.ts). */
  cryptKey: Buffer;
  /** True once the consumer is stopping: no further operation starts, the rest is given back. */
  stopping(): boolean;
  /** Told of every handler run (metrics). */
  observe?(e: { topic: string; status: number; seconds: number; attempt: number }): void;
  /** Search path of handler transactions (ConsumerOptions.searchPath). */
  searchPath?: readonly string[] | undefined;
  /** The gate an operationId's runs go through (an upstream's slots), if any (capacity.ts). */
  gateOf?(operationId: string): Gate | undefined;
  /** Converts an operation's stored arguments to what its handler's types say (ConsumerOptions.coerce). */
  coerce?: ((operationId: string, args: unknown, log: LifecycleContext['log']) => unknown) | undefined;
  /** What operations require before they run (plugins' `requires`); none: nothing waits. */
  dependencies?: Dependencies | undefined;
}

export interface Delivery {
  /** performance.now() taken before the statement that claimed the batch's operations. */
  claimedAt: number;
  /** The consumer's capacity held for this batch, given back as its claims end. */
  hold?: Hold | undefined;
}

/** A batch that threw: its caller fails its deliveries, which gives their claims back. */
export class BatchFailure extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'BatchFailure';
  }
}

/**
 * Returns how many of the batch's operations it settled: ran (or skipped as canceled) and recorded.
 * Deliveries put off (busy), given back to run again, or with nothing left to run do not count:
 * `--max-messages` counts operations handled, as Magento counts messages.
 */
export async function processBatch(
  ctx: BatchContext,
  queue: string,
  jobs: Job<OperationJob>[],
  delivery: Delivery,
): Promise<number> {
  const startedAt = new Date();
  // The local lease clock starts no later than the database's: at the claim statement's start.
  let claimedAt = delivery.claimedAt;
  let delivered: (Claimed | NotClaimed)[];
  if (jobs.length && deliveredOf(jobs[0]!) === undefined) {
    claimedAt = performance.now();
    delivered = await claimSeparately(ctx, jobs);
  } else delivered = jobs.map((j) => deliveredOf(j)!);
  delivered = oneClaimPerOperation(delivered);
  const lookedAt = performance.now();
  const claims: Claimed[] = [];
  const done: JobAttempt[] = [];
  const busy: NotClaimed[] = [];
  const canceledGone: { bulk: string; key: number; job: string }[] = [];
  for (const d of delivered) {
    if ('row' in d) claims.push(d);
    else if (d.reason === 'busy') busy.push(d);
    else {
      if (d.reason === 'canceled') canceledGone.push({ bulk: d.job.data.bulk, key: d.job.data.key, job: d.job.id });
      done.push(attemptOf(d.job));
    }
  }
  // Operations that wait for what they reference look first (src/operations/requires.ts).
  let looked: Looked | null = null;
  try {
    if (ctx.dependencies) looked = await lookFirst(ctx, ctx.dependencies, claims);
  } catch (error) {
    delivery.hold?.release();
    throw new BatchFailure(error);
  }
  const runs = looked && new Set(looked.run);
  const running = runs ? claims.filter((c) => runs.has(c)) : claims;
  for (const c of looked?.failed ?? []) done.push(attemptOf(c.job));
  // Each claim that runs now keeps its share of the consumer's capacity; the rest goes back.
  delivery.hold?.claimed(running, (id) => ctx.gateOf?.(id));
  const leases = new Leases(ctx, queue, running, claimedAt, lookedAt);
  const writer = new BatchWriter(ctx, queue, leases, startedAt, done);
  try {
    const waiting = looked?.waiting ?? [];
    await putOff(ctx, queue, [
      ...busy.map((b) => ({ job: b.job, delaySeconds: busyDelaySeconds(b), behind: b.wait === null })),
      ...waiting.map((w) => ({ job: w.claim.job, delaySeconds: w.delaySeconds, dependant: true })),
    ]);
    await finishCanceled(ctx, canceledGone);
    await new BatchExecutor(ctx, leases, writer, (ended) => {
      for (const c of ended) delivery.hold?.done(c);
    }).runAll(running);
    const finished = running.map((c) => ({ bulk: c.row.bulk_uuid, key: c.row.operation_key }));
    // Only a keyed operation can have deliveries waiting behind it: a batch of unkeyed ones saves
    // the statement. (One re-keyed while it ran, by a consumer starting with a changed rule, leaves
    // its waiters to their put-off delay.)
    const keyed = running.filter((c) => c.row.keyed !== false);
    await wakeWaiting(
      ctx,
      queue,
      keyed.map((c) => ({ bulk: c.row.bulk_uuid, key: c.row.operation_key })),
    );
    if (looked) {
      const failed = looked.failed.map((c) => ({ bulk: c.row.bulk_uuid, key: c.row.operation_key }));
      await wakeDependants(ctx, [...finished, ...failed, ...looked.alsoFailed]);
    }
    return running.length - writer.notSettled + canceledGone.length + (looked?.failed.length ?? 0);
  } catch (error) {
    writer.abandon();
    throw new BatchFailure(error);
  } finally {
    leases.stop();
    delivery.hold?.release();
  }
}
