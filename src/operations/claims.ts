/**
 * Claims: a worker runs an operation only while it holds the operation's delivering job (pg-boss
 * hands a job to one worker at a time), and every write it makes names that delivery's attempt
 * (`id:retry_count`), so a worker whose job was handed on writes nothing. A delivery of an
 * operation that is final is completed; of one that is busy (an earlier unfinished operation of its
 * entity key, or a retry not due yet) it is put off (put-off.ts). Duplicate deliveries
 * are therefore harmless. Claiming writes nothing: the attempt's one write is its outcome.
 *
 * No handler outlives its claim: the claim lasts as long as pg-boss keeps the job active, extended
 * every quarter of its heartbeat (or expiry) while the batch runs; an operation starts only while
 * more than half of that is left, and a handler is aborted (AbortSignal) at its timeout or a second
 * before the claim could lapse. So no two workers run an operation at once.
 */
import type { Job, JobAttempt } from 'pg-boss';
import { prepared } from '../db/prepared.ts';
import { extendJobs } from '../queue/pgboss-sql.ts';
import { bossSchemaFor } from '../queue/boss.ts';
import type { OperationJob } from '../queue/names.ts';
import * as sql from './claims.sql.ts';
import type { Unclaimed } from './claims.sql.ts';
import { addressOf, rowAddress, attemptOf, type OperationRow } from './operation.ts';
import type { LifecycleContext } from './policy.ts';
import { errorLogFields } from './status.ts';

export interface Claimed {
  job: Job<OperationJob>;
  row: OperationRow;
}

export interface NotClaimed {
  job: Job<OperationJob>;
  reason: Unclaimed;
  /** Seconds until its automatic retry is due, when that is why it is busy. */
  wait: number | null;
}

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
      attempts_at_reopen: j.__attempts_at_reopen as number,
      reopened: j.__reopened as number,
      keyed: j.__keyed as boolean,
      store_id: j.__store_id as number,
      store_code: j.__store_code as string | null,
    },
  };
}

/**
 * Two deliveries of one operation in one batch (its jobs should never be two, but a job is all a
 * claim is): the claim statement sees neither active, so both come back claimed. The lower job id
 * keeps the claim; the other is busy (put off, no holder's lease to wait for).
 */
export function oneClaimPerOperation(delivered: (Claimed | NotClaimed)[]): (Claimed | NotClaimed)[] {
  const first = new Map<string, Claimed>();
  let claimed = 0;
  for (const d of delivered) {
    if (!('row' in d)) continue;
    claimed++;
    const a = rowAddress(d.row);
    const other = first.get(a);
    if (!other || d.job.id < other.job.id) first.set(a, d);
  }
  if (first.size === claimed) return delivered;
  return delivered.map((d) =>
    'row' in d && first.get(rowAddress(d.row)) !== d ? { job: d.job, reason: 'busy' as const, wait: null } : d,
  );
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
    ]),
  );
  const byId = new Map(rows.map((r: { id: string }) => [r.id, r]));
  return jobs.map((job) => deliveredOf({ ...job, ...byId.get(job.id), id: job.id, data: job.data })!);
}

/**
 * The claims of one batch while it runs: their jobs extended every quarter of a lease (the queue's
 * heartbeat, or its expiry without one; pgboss-sql.ts `extendJobs`), and their operations looked at
 * again (for cancellations) before an operation starts when the last look is older than `lookMs`.
 * Tells when an operation may still start, and aborts `lost` a second before a claim it could not
 * extend would be handed on.
 */
export class Leases {
  #ctx: LifecycleContext;
  #queue: string;
  #held = new Map<string, { bulk: string; key: number; attempt: JobAttempt }>();
  #canceled = new Set<string>();
  /** A claim's life unextended: the jobs' heartbeat, or their expiry when shorter; ms. */
  #leaseMs: number;
  /** performance.now() until which every held claim is surely still ours. */
  #validUntil: number;
  #lookedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #lostTimer: NodeJS.Timeout | undefined;
  #extending: Promise<void> | null = null;
  #looking: Promise<void> | null = null;
  readonly lost = new AbortController();
  /**
   * Told right after `lost` aborts (the executor aborts its running handlers): a plain callback,
   * not a listener on the signal per handler.
   */
  onLost: ((reason: unknown) => void) | undefined;

  /**
   * `claimedAt`: taken before the fetching statement ran (pg-boss's expiry and heartbeat start no
   * earlier); `lookedAt`: when its answer arrived, the cancellations it saw counting as a fresh look.
   */
  constructor(
    ctx: LifecycleContext,
    queue: string,
    claims: readonly Claimed[],
    claimedAt: number,
    lookedAt = claimedAt,
  ) {
    this.#ctx = ctx;
    this.#queue = queue;
    for (const { row, job } of claims) {
      this.#held.set(rowAddress(row), {
        bulk: row.bulk_uuid,
        key: row.operation_key,
        attempt: attemptOf(job),
      });
    }
    let seconds = Infinity;
    for (const { job } of claims)
      seconds = Math.min(seconds, job.heartbeatSeconds || Infinity, job.expireInSeconds || Infinity);
    this.#leaseMs = seconds * 1000;
    if (!Number.isFinite(this.#leaseMs)) this.#leaseMs = 60_000;
    this.#validUntil = claimedAt + this.#leaseMs;
    this.#lookedAt = lookedAt;
    if (this.#held.size) {
      this.#timer = setInterval(() => void this.extend(), this.#leaseMs / 4);
      this.#armLost();
    }
  }

  /**
   * Whether an operation may start now: held, not canceled, and more than half a lease left. A
   * handler that then outlives the claim is aborted (`lost`).
   */
  mayStart(address: string): boolean {
    return (
      this.#held.has(address) &&
      !this.#canceled.has(address) &&
      !this.lost.signal.aborted &&
      performance.now() + this.#leaseMs / 2 < this.#validUntil
    );
  }

  canceled(address: string): boolean {
    return this.#canceled.has(address);
  }

  /** Whether the last look is older than `lookMs`. */
  lookDue(lookMs: number): boolean {
    return performance.now() - this.#lookedAt >= lookMs;
  }

  /**
   * Starts a look when the last is older than `lookMs` and none is under way, without waiting for
   * it: operations started meanwhile run on what the last look saw (a cancel arriving then is the
   * one a running operation finishes through anyway), and none waits a round trip to start.
   * {@link looked} resolves once the look under way ended.
   */
  lookSoon(lookMs: number): void {
    if (this.#looking || !this.lookDue(lookMs)) return;
    this.#looking = this.#look().finally(() => (this.#looking = null));
  }

  /** Resolves once no look started by {@link lookSoon} is under way. */
  async looked(): Promise<void> {
    await this.#looking;
  }

  /** Stops holding an operation (its outcome is written, or it was given back). */
  drop(address: string): void {
    this.#held.delete(address);
  }

  /** Extends the held jobs (every quarter lease), then looks at their operations again. */
  extend(): Promise<void> {
    this.#extending ??= (async () => {
      if (!this.#held.size) return;
      const sentAt = performance.now();
      const held = [...this.#held.entries()];
      try {
        const { rows } = await this.#ctx.pool.query<{ id: string; extended: boolean }>(
          prepared(extendJobs(bossSchemaFor(this.#ctx.boss)), [
            this.#queue,
            held.map(([, h]) => `${h.attempt.id}:${h.attempt.retryCount}`),
          ]),
        );
        const still = new Set(rows.map((r) => r.id));
        // Missing: no longer ours (never expected while we extend in time).
        for (const [a, h] of held) if (!still.has(h.attempt.id)) this.#held.delete(a);
        // One locked right now was not extended: the claims count as extended once all were.
        if (rows.every((r) => r.extended)) {
          this.#validUntil = sentAt + this.#leaseMs;
          this.#armLost();
        }
      } catch (error) {
        this.#ctx.log.warn(errorLogFields(error), 'could not extend the jobs of held operations; retrying');
      }
      await this.#look();
    })().finally(() => (this.#extending = null));
    return this.#extending;
  }

  /** Reads which held operations the cancel API flagged since the last look (a read: no write). */
  async #look(): Promise<void> {
    const held = [...this.#held.values()];
    if (!held.length) return;
    const sentAt = performance.now();
    try {
      const { rows } = await this.#ctx.pool.query<{ bulk_uuid: string; operation_key: number; canceled: boolean }>(
        prepared(sql.lookAtHeld(this.#ctx.schema), [held.map((h) => h.bulk), held.map((h) => h.key)]),
      );
      for (const r of rows) if (r.canceled) this.#canceled.add(addressOf(r.bulk_uuid, r.operation_key));
      this.#lookedAt = sentAt;
    } catch (error) {
      this.#ctx.log.warn(errorLogFields(error), 'could not look at held operations again; retrying');
    }
  }

  #armLost(): void {
    clearTimeout(this.#lostTimer);
    // Abort a second before the claim could lapse: the handler never outlives it.
    const ms = Math.max(0, this.#validUntil - performance.now() - 1000);
    this.#lostTimer = setTimeout(() => {
      this.lost.abort(new ClaimLostError());
      this.onLost?.(this.lost.signal.reason);
    }, ms);
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
