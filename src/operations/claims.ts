/**
 * Claims: a worker runs an operation only after claiming it (a lease with a fencing token,
 * `lease_token`), keeps the lease while it runs, and every write it makes names the token. A
 * delivery of an operation that is final is completed; of one that is busy (another worker's live
 * lease, or an earlier unfinished operation of its entity key) it is put off (put-off.ts).
 * Duplicate deliveries are therefore harmless.
 *
 * No handler outlives its lease: an operation starts only while more than half the lease is left,
 * the lease is extended every quarter of it, and a handler is aborted (AbortSignal) at its timeout
 * or a second before an unextended lease could lapse. So no two workers run an operation at once.
 */
import type { Job } from 'pg-boss';
import { prepared } from '../db/prepared.ts';
import type { OperationJob } from '../queue/names.ts';
import * as sql from './claims.sql.ts';
import type { Unclaimed } from './claims.sql.ts';
import { addressOf, type OperationRow } from './operation.ts';
import type { LifecycleContext } from './policy.ts';
import { errorLogFields } from './status.ts';

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

  /**
   * `claimedAt`: taken before the claiming statement ran (the database's lease starts no earlier);
   * `lookedAt`: when its answer arrived, the cancellations it saw counting as a fresh look.
   */
  constructor(ctx: LifecycleContext, claims: readonly Claimed[], claimedAt: number, lookedAt = claimedAt) {
    this.#ctx = ctx;
    for (const { row } of claims) {
      this.#held.set(addressOf(row.bulk_uuid, row.operation_key), {
        bulk: row.bulk_uuid,
        key: row.operation_key,
        token: row.lease_token,
      });
    }
    this.#lookedAt = lookedAt;
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
        this.#ctx.log.warn(errorLogFields(error), 'could not extend operation leases; retrying');
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

/** Gives claims back unrun, without a new delivery (their jobs are failed or put off by the caller). */
export async function releaseClaims(ctx: LifecycleContext, held: [string[], number[], number[]]): Promise<void> {
  if (held[0].length) await ctx.pool.query(prepared(sql.releaseClaims(ctx.schema), held));
}
