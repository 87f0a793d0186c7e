/**
 * The lifecycle of an operation: every rule about when it may run, what its outcome does, and how
 * it is retried, canceled, ordered and swept, in one place (its SQL is src/db/sql/lifecycle.ts;
 * docs/operation-lifecycle.md draws it).
 *
 *   open (4) ──claim──▶ claimed ──outcome──▶ complete (1) | failed (3) | retriably failed (2)
 *      ▲                   │ lease lapses / given back      │ runs left: will_retry ──retry job──▶ claim
 *      └───────────────────┘                                 └ none left / canceled: final
 *   cancel: unclaimed → Canceled (3) at once; claimed → flagged, finishes, never retried
 *   retry API: final 2/3 → open (4), never one with a job (will_retry) or a claim
 *
 * - A pg-boss job is only a delivery: it wakes a worker for an operation. The truth is the
 *   operation row: a worker runs an operation only after claiming it (a lease with a fencing
 *   token, `lease_token`), keeps the lease while it runs, and every write it makes names the token.
 *   A delivery of an operation that is final is completed; of one that is busy (another worker's
 *   live lease, or an earlier unfinished operation of its entity key) it is put off: a new job later.
 *   One put off behind an earlier operation is named on it, and made runnable once that is final.
 *   Duplicate deliveries are therefore harmless, and every unfinished, unclaimed operation has a job.
 * - A retry is a new job, inserted in the transaction that records the retriable failure, so
 *   `will_retry` is true exactly while that job exists and "finished" (no open operation, no
 *   `will_retry`) is true only once nothing of the bulk can run any more.
 * - No handler outlives its lease: an operation starts only while more than half the lease is left,
 *   the lease is extended every quarter of it, and a handler is aborted (AbortSignal) at its timeout
 *   or a second before an unextended lease could lapse. So no two workers run an operation at once.
 */
import { randomUUID } from 'node:crypto';
import type { Job, JobAttempt, JobInsert, PgBoss } from 'pg-boss';
import type { Pool, PoolClient } from '../db/pool.ts';
import * as sql from '../db/sql/lifecycle.ts';
import type { OperationRow, Unclaimed } from '../db/sql/lifecycle.ts';
import type { Logger } from '../kernel/logger.ts';
import { bossDb } from '../queue/adapter.ts';
import { bossSchemaOf } from '../queue/boss.ts';
import { startWaitingJobsNow } from '../queue/pgboss-sql.ts';
import { retryJobIdFor, type OperationJob } from '../queue/names.ts';
import { STATUS_RETRIABLY_FAILED } from './classify.ts';
import { prepared } from './prepared.ts';

export interface LifecyclePolicy {
  /** Seconds a claim lasts unless extended; a dead worker's operations run again after it. */
  leaseSeconds: number;
  /** Longest one handler may run, ms; it is then aborted and fails retriably. */
  handlerTimeoutMs: number;
  /** Automatic retries after the first run. */
  retryLimit: number;
  retryDelaySeconds: number;
  retryBackoff: boolean;
  retryDelayMaxSeconds: number;
}

export const DEFAULT_LIFECYCLE: LifecyclePolicy = {
  leaseSeconds: 20,
  handlerTimeoutMs: 30_000,
  retryLimit: 5,
  retryDelaySeconds: 2,
  retryBackoff: true,
  retryDelayMaxSeconds: 300,
};

export interface LifecycleContext {
  pool: Pool;
  boss: PgBoss;
  schema: string;
  log: Logger;
  policy: LifecyclePolicy;
  /** Wakes this process's idle fetch loops of a queue (a put-off job there became runnable). */
  wake?: ((queue: string) => void) | undefined;
}

export const CANCELED_MESSAGE = 'Canceled';

export interface Outcome {
  status: number;
  errorCode: number | null;
  message: string;
  result: string | null;
  /** A retriable failure's least retry delay, seconds (an upstream's `Retry-After`). */
  retryAfterSeconds?: number | undefined;
}

export interface Claimed {
  job: Job<OperationJob>;
  row: OperationRow;
}

export interface NotClaimed {
  job: Job<OperationJob>;
  reason: Unclaimed;
  /** Seconds until the holder's lease lapses, when another worker holds it. */
  wait: number | null;
}

export const addressOf = (bulk: string, key: number): string => `${bulk.toLowerCase()}:${key}`;
export const attemptOf = (job: Job<OperationJob>): JobAttempt => ({ id: job.id, retryCount: job.retryCount });

/** A delivered job as the folded fetch (or {@link claimSeparately}) returned it. */
export function deliveredOf(job: object): Claimed | NotClaimed | undefined {
  const j = job as Record<string, unknown>;
  if (j.__loaded !== true) return undefined;
  const delivered = job as Job<OperationJob>;
  if (j.__unclaimed !== null && j.__unclaimed !== undefined) {
    return { job: delivered, reason: j.__unclaimed as Unclaimed, wait: (j.__wait as number | null) ?? null };
  }
  return {
    job: delivered,
    row: {
      bulk_uuid: j.__bulk_uuid as string,
      operation_key: j.__operation_key as number,
      topic_name: j.__topic_name as string,
      operation_id: j.__operation_id as string,
      serialized_data: j.__serialized_data as string | null,
      status: j.__status as number,
      attempts: j.__attempts as number,
      lease_token: j.__lease_token as number,
      reopened: j.__reopened as number,
      store_id: j.__store_id as number,
      store_code: j.__store_code as string | null,
    },
  };
}

/** Claims the operations of jobs whose fetch had no claim folded in. */
export async function claimSeparately(
  ctx: LifecycleContext,
  jobs: Job<OperationJob>[],
): Promise<(Claimed | NotClaimed)[]> {
  const { rows } = await ctx.pool.query(
    prepared(sql.claimJobs(ctx.schema), [
      jobs.map((j) => j.id),
      jobs.map((j) => String(j.data.bulk)),
      jobs.map((j) => String(j.data.key)),
      ctx.policy.leaseSeconds,
    ]),
  );
  const byId = new Map(rows.map((r: { id: string }) => [r.id, r]));
  return jobs.map((job) => deliveredOf({ ...job, ...byId.get(job.id), id: job.id, data: job.data })!);
}

/**
 * The claims of one batch while it runs: extended every quarter lease, and looked at again (for
 * cancellations) before an operation starts when the last look is older than `lookMs`. Tells when
 * an operation may still start, and aborts `lost` when a claim could lapse unextended.
 */
export class Leases {
  #ctx: LifecycleContext;
  #held = new Map<string, { bulk: string; key: number; token: number }>();
  #canceled = new Set<string>();
  /** performance.now() until which every held claim is surely still ours. */
  #validUntil: number;
  #lookedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #lostTimer: NodeJS.Timeout | undefined;
  #extending: Promise<void> | null = null;
  readonly lost = new AbortController();

  constructor(ctx: LifecycleContext, claims: readonly Claimed[], claimedAt: number) {
    this.#ctx = ctx;
    for (const { row } of claims) {
      this.#held.set(addressOf(row.bulk_uuid, row.operation_key), {
        bulk: row.bulk_uuid,
        key: row.operation_key,
        token: row.lease_token,
      });
    }
    this.#lookedAt = claimedAt;
    this.#validUntil = claimedAt + ctx.policy.leaseSeconds * 1000;
    if (this.#held.size) {
      this.#timer = setInterval(() => void this.extend(), (ctx.policy.leaseSeconds * 1000) / 4);
      this.#armLost();
    }
  }

  /**
   * Whether an operation may start now: held, not canceled, and the lease recently extended (more
   * than half of it left). A handler that then outlives the lease unextended is aborted (`lost`).
   */
  mayStart(address: string): boolean {
    return (
      this.#held.has(address) &&
      !this.#canceled.has(address) &&
      !this.lost.signal.aborted &&
      performance.now() + (this.#ctx.policy.leaseSeconds * 1000) / 2 < this.#validUntil
    );
  }

  canceled(address: string): boolean {
    return this.#canceled.has(address);
  }

  /** Whether the last look is older than `lookMs`. */
  lookDue(lookMs: number): boolean {
    return performance.now() - this.#lookedAt >= lookMs;
  }

  /** Looks again when the last look is older than `lookMs`: fast batches never pay for it. */
  async lookAgain(lookMs: number): Promise<void> {
    if (this.lookDue(lookMs)) await this.extend();
  }

  /** Stops holding an operation (its outcome is written, or it was given back). */
  drop(address: string): void {
    this.#held.delete(address);
  }

  /** The claims still held, as the parallel arrays of the lifecycle SQL. */
  heldArrays(): [string[], number[], number[]] {
    const held = [...this.#held.values()];
    return [held.map((h) => h.bulk), held.map((h) => h.key), held.map((h) => h.token)];
  }

  extend(): Promise<void> {
    this.#extending ??= (async () => {
      if (!this.#held.size) return;
      const sentAt = performance.now();
      try {
        const { rows } = await this.#ctx.pool.query<{ bulk_uuid: string; operation_key: number; canceled: boolean }>(
          prepared(sql.extendLeases(this.#ctx.schema), [...this.heldArrays(), this.#ctx.policy.leaseSeconds]),
        );
        const still = new Set<string>();
        for (const r of rows) {
          const a = addressOf(r.bulk_uuid, r.operation_key);
          still.add(a);
          if (r.canceled) this.#canceled.add(a);
        }
        // Not extended: no longer ours (never expected while we extend in time).
        for (const a of this.#held.keys()) if (!still.has(a)) this.#held.delete(a);
        this.#validUntil = sentAt + this.#ctx.policy.leaseSeconds * 1000;
        this.#lookedAt = sentAt;
        this.#armLost();
      } catch (error) {
        this.#ctx.log.warn({ err: error }, 'could not extend operation leases; retrying');
      }
    })().finally(() => (this.#extending = null));
    return this.#extending;
  }

  #armLost(): void {
    clearTimeout(this.#lostTimer);
    // Abort a second before the lease could lapse: the handler never outlives the claim.
    const ms = Math.max(0, this.#validUntil - performance.now() - 1000);
    this.#lostTimer = setTimeout(() => this.lost.abort(new ClaimLostError()), ms);
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#lostTimer);
  }
}

export class ClaimLostError extends Error {
  constructor() {
    super('The operation lease could not be extended; the operation was abandoned to another worker.');
    this.name = 'ClaimLostError';
  }
}

/** Seconds before the `run`-th run (2 for the first retry) of a retriably failed operation. */
export function retryDelaySeconds(policy: LifecyclePolicy, run: number): number {
  const base = policy.retryDelaySeconds;
  if (!policy.retryBackoff) return base;
  const exp = Math.min(base * 2 ** Math.max(0, run - 2), policy.retryDelayMaxSeconds);
  // Jitter (between the delay and twice it) so operations that failed together do not all come
  // back in the same second.
  return Math.min(policy.retryDelayMaxSeconds, Math.ceil(exp + Math.random() * exp));
}

export interface Recorded {
  bulk_uuid: string;
  operation_key: number;
  will_retry: boolean;
  attempts: number;
  reopened: number;
}

export function outcomeArrays(items: { row: OperationRow; outcome: Outcome }[], startedAt: Date, limit: number) {
  return [
    items.map((i) => i.row.bulk_uuid),
    items.map((i) => i.row.operation_key),
    items.map((i) => i.row.lease_token),
    items.map((i) => i.outcome.status),
    items.map((i) => i.outcome.errorCode),
    items.map((i) => i.outcome.message),
    items.map((i) => i.outcome.result),
    startedAt,
    limit,
  ];
}

/**
 * The jobs of the automatic retries just recorded; none starts before the `Retry-After` its
 * outcome asked for.
 */
export function retryJobs(
  ctx: LifecycleContext,
  recorded: readonly Recorded[],
  items: readonly { row: OperationRow; outcome: Outcome }[] = [],
): JobInsert<OperationJob>[] {
  const after = new Map<string, number>();
  for (const i of items) {
    if (i.outcome.retryAfterSeconds)
      after.set(addressOf(i.row.bulk_uuid, i.row.operation_key), i.outcome.retryAfterSeconds);
  }
  return recorded
    .filter((r) => r.will_retry)
    .map((r) => ({
      id: retryJobIdFor(r.bulk_uuid, r.operation_key, r.reopened, r.attempts + 1),
      data: { bulk: r.bulk_uuid, key: r.operation_key },
      startAfter: Math.max(
        retryDelaySeconds(ctx.policy, r.attempts + 1),
        after.get(addressOf(r.bulk_uuid, r.operation_key)) ?? 0,
      ),
    }));
}

/**
 * Records outcomes and settles their jobs in the caller's open transaction: the outcomes (fenced),
 * the retry jobs of those that will be retried, and the completion of the delivered jobs. The
 * delivery is completed whatever became of the outcome: a fenced-out one belongs to the worker that
 * took the claim over, which has its own delivery.
 */
export async function recordOn(
  ctx: LifecycleContext,
  client: PoolClient,
  queue: string,
  items: { job: Job<OperationJob>; row: OperationRow; outcome: Outcome }[],
  done: JobAttempt[],
  startedAt: Date,
): Promise<Recorded[]> {
  const recorded = items.length
    ? (
        await client.query<Recorded>(
          prepared(sql.recordOutcomes(ctx.schema), outcomeArrays(items, startedAt, ctx.policy.retryLimit)),
        )
      ).rows
    : [];
  const db = bossDb(client);
  const retries = retryJobs(ctx, recorded, items);
  if (retries.length) await ctx.boss.insert(queue, retries, { db });
  const jobs = [...items.map((i) => attemptOf(i.job)), ...done];
  if (jobs.length) await ctx.boss.complete(queue, jobs, null, { db });
  return recorded;
}

/** {@link recordOn} in a transaction of its own. */
export async function recordOutcomes(
  ctx: LifecycleContext,
  queue: string,
  items: { job: Job<OperationJob>; row: OperationRow; outcome: Outcome }[],
  done: JobAttempt[],
  startedAt: Date,
): Promise<Recorded[]> {
  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    const recorded = await recordOn(ctx, client, queue, items, done, startedAt);
    await client.query('COMMIT');
    client.release();
    return recorded;
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
}

/** Whether recording these outcomes needs more than the one-statement completion (a retry job). */
export const needsTransaction = (items: readonly { outcome: Outcome }[]): boolean =>
  items.some((i) => i.outcome.status === STATUS_RETRIABLY_FAILED);

/**
 * Puts deliveries off: a new job for each, `delaySeconds` later, and the delivered one completed,
 * in one transaction (an operation is never left without a job), after giving back any claim.
 */
export async function putOff(
  ctx: LifecycleContext,
  queue: string,
  items: { job: Job<OperationJob>; delaySeconds: number; alone?: boolean; behind?: boolean }[],
  giveBack?: [string[], number[], number[]],
): Promise<void> {
  if (!items.length) return;
  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    if (giveBack && giveBack[0].length) await client.query(prepared(sql.releaseClaims(ctx.schema), giveBack));
    const ids = items.map(() => randomUUID());
    const delays = await waitBehind(ctx, client, items, ids);
    const db = bossDb(client);
    await ctx.boss.insert(
      queue,
      items.map(({ job, alone }, i) => ({
        id: ids[i]!,
        data: {
          bulk: job.data.bulk,
          key: job.data.key,
          deferred: (job.data.deferred ?? 0) + 1,
          ...((alone ?? job.data.alone) ? { alone: true } : {}),
        },
        startAfter: delays[i]!,
      })),
      { db },
    );
    await ctx.boss.complete(
      queue,
      items.map((i) => attemptOf(i.job)),
      null,
      { db },
    );
    await client.query('COMMIT');
    client.release();
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
}

/**
 * The delays of put-off deliveries. One behind an earlier operation of its key names its new job
 * on that operation, which makes it runnable when its outcome is final ({@link wakeWaiting}): the
 * put-off delay is then only a safety net (a crash between the outcome and the wake). One whose
 * predecessor finished since the claim may run at once; one whose predecessor was being recorded
 * (its row locked) comes back in a second rather than after its backoff.
 */
const SKIPPED_LOOKS = 3;
const SKIPPED_PAUSE_MS = 5;

async function waitBehind(
  ctx: LifecycleContext,
  client: PoolClient,
  items: readonly { job: Job<OperationJob>; delaySeconds: number; behind?: boolean }[],
  ids: readonly string[],
): Promise<number[]> {
  const delays = items.map((i) => i.delaySeconds);
  let behind = items.flatMap((item, i) => (item.behind ? [i] : []));
  // A predecessor locked by its recorder is final a moment later: look again a few times.
  for (let look = 0; behind.length && look < SKIPPED_LOOKS; look++) {
    if (look) await new Promise((resolve) => setTimeout(resolve, SKIPPED_PAUSE_MS));
    const { rows } = await client.query<{ job: string; waiting: sql.Waiting }>(
      prepared(sql.nameWaitingJobs(ctx.schema), [
        behind.map((i) => items[i]!.job.data.bulk),
        behind.map((i) => items[i]!.job.data.key),
        behind.map((i) => ids[i]!),
      ]),
    );
    const waiting = new Map(rows.map((r) => [r.job, r.waiting]));
    for (const i of behind) if (waiting.get(ids[i]!) === 'free') delays[i] = 0;
    behind = behind.filter((i) => waiting.get(ids[i]!) === 'skipped');
  }
  for (const i of behind) delays[i] = Math.min(delays[i]!, 1);
  return delays;
}

/**
 * Makes the put-off jobs waiting behind these operations runnable now, for those now final, and
 * wakes this process's loops of the queue. Run once their outcomes are committed; a failure only
 * leaves the jobs to their put-off delay.
 */
export async function wakeWaiting(
  ctx: LifecycleContext,
  queue: string,
  finished: readonly { bulk: string; key: number }[],
): Promise<void> {
  const bossSchema = bossSchemaOf(ctx.boss);
  if (!finished.length || bossSchema === undefined) return;
  try {
    const { rowCount } = await ctx.pool.query(
      prepared(startWaitingJobsNow(bossSchema, sql.waitingJobsOf(ctx.schema)), [
        finished.map((f) => f.bulk),
        finished.map((f) => f.key),
        queue,
      ]),
    );
    if (rowCount) ctx.wake?.(queue);
  } catch (error) {
    ctx.log.warn({ err: error }, 'could not wake jobs waiting behind finished operations; they run after their delay');
  }
}

/**
 * How long a busy delivery waits: until the holder's lease lapses when another worker holds it,
 * else (behind an earlier operation of its key) a second, doubling per put-off up to 30.
 */
export function busyDelaySeconds(item: NotClaimed): number {
  if (item.wait !== null) return Math.max(1, item.wait);
  return Math.min(30, 2 ** Math.min(5, item.job.data.deferred ?? 0));
}

/** Finishes the operations canceled while claimed whose claim is gone (see `finishCanceled`). */
export async function finishCanceled(ctx: LifecycleContext, items: readonly { bulk: string; key: number }[]) {
  if (!items.length) return;
  await ctx.pool.query(sql.finishCanceled(ctx.schema), [
    items.map((i) => i.bulk),
    items.map((i) => i.key),
    CANCELED_MESSAGE,
  ]);
}

/** Gives claims back unrun, without a new delivery (their jobs are failed or put off by the caller). */
export async function releaseClaims(ctx: LifecycleContext, held: [string[], number[], number[]]): Promise<void> {
  if (held[0].length) await ctx.pool.query(prepared(sql.releaseClaims(ctx.schema), held));
}

export const ABANDONED_MESSAGE =
  'The operation did not finish: its worker stopped on every attempt (crashed or timed out). Retry it once the cause is fixed.';

/** Dead-lettered jobs: their operations, if still unfinished and unclaimed, are closed as status 2. */
export async function closeAbandoned(ctx: LifecycleContext, jobs: readonly Job<OperationJob>[]): Promise<number> {
  const result = await ctx.pool.query(sql.closeAbandonedOperations(ctx.schema), [
    jobs.map((j) => j.data.bulk),
    jobs.map((j) => j.data.key),
    ABANDONED_MESSAGE,
  ]);
  return result.rowCount ?? 0;
}

/**
 * The sweeper: gives every unfinished, unclaimed operation with no live job a new one (a job
 * deleted by pg-boss retention, or by hand). Returns how many it re-enqueued.
 */
export async function sweep(
  ctx: LifecycleContext,
  bossSchema: string,
  queueOf: (operationId: string) => string | undefined,
  queues: readonly string[],
  limit = 10_000,
): Promise<number> {
  const { rows } = await ctx.pool.query<{ bulk_uuid: string; operation_key: number; operation_id: string }>(
    sql.selectOrphans(ctx.schema, bossSchema),
    [queues, limit],
  );
  const byQueue = new Map<string, JobInsert<OperationJob>[]>();
  for (const r of rows) {
    const queue = queueOf(r.operation_id);
    if (!queue || !queues.includes(queue)) continue;
    let list = byQueue.get(queue);
    if (!list) byQueue.set(queue, (list = []));
    list.push({ id: randomUUID(), data: { bulk: r.bulk_uuid, key: r.operation_key } });
  }
  let count = 0;
  for (const [queue, jobs] of byQueue) {
    await ctx.boss.insert(queue, jobs);
    count += jobs.length;
  }
  return count;
}

/**
 * The entity-key rule of every route: the plugin's declaration, else the route's path parameters
 * (none: not ordered). Namespaced by the route's entity, so two routes of one entity share keys.
 */
export function orderRules(
  routes: readonly { operationId: string; entity: string; pathParams: readonly string[] }[],
  declared: ReadonlyMap<string, string[] | null>,
): { operationId: string; namespace: string; paths: string[] }[] {
  const rules = [];
  for (const r of routes) {
    const paths = declared.has(r.operationId)
      ? declared.get(r.operationId)
      : r.pathParams.length
        ? [...r.pathParams]
        : null;
    if (paths) rules.push({ operationId: r.operationId, namespace: r.entity, paths });
  }
  return rules;
}

/** Stores the rules, so operations accepted from now on get their key (see 011_lifecycle.sql). */
export async function saveOrderRules(pool: Pool, schema: string, rules: ReturnType<typeof orderRules>): Promise<void> {
  if (!rules.length) return;
  await pool.query(sql.upsertOrderRules(schema), [
    rules.map((r) => r.operationId),
    rules.map((r) => r.namespace),
    rules.map((r) => JSON.stringify(r.paths)),
  ]);
}
