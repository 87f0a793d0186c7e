/**
 * Put-off and waiting: a busy delivery (a retry not due yet, or an earlier unfinished
 * operation of its key) gets a new job for later, in the transaction that completes the delivered
 * one, so an operation is never left without a job. One put off behind an earlier operation is
 * named on it, and made runnable once that is final.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'pg-boss';
import type { PoolClient } from '../db/pool.ts';
import { prepared } from '../db/prepared.ts';
import { bossDb, settledIds } from '../queue/adapter.ts';
import { bossSchemaOf } from '../queue/boss.ts';
import type { OperationJob } from '../queue/names.ts';
import { startWaitingJobsNow } from '../queue/pgboss-sql.ts';
import type { NotClaimed } from './claims.ts';
import { attemptOf } from './operation.ts';
import type { LifecycleContext } from './policy.ts';
import * as sql from './put-off.sql.ts';
import { nameDependantJobs } from './requires.sql.ts';

export interface PutOffItem {
  job: Job<OperationJob>;
  delaySeconds: number;
  alone?: boolean;
  /** Behind an earlier unfinished operation of its key: woken by its outcome. */
  behind?: boolean;
  /** Waiting for operations it requires (requires.ts): woken by their outcomes. */
  dependant?: boolean;
}

/**
 * Puts deliveries off: the delivered job completed and a new one `delaySeconds` later, in one
 * transaction (an operation is never left without a job, nor with two). Completing a delivery
 * gives its claim back; one pg-boss no longer counts as ours (handed on after its heartbeat or
 * expiry, so pg-boss delivers it again) gets no new job.
 */
export async function putOff(ctx: LifecycleContext, queue: string, all: PutOffItem[]): Promise<void> {
  if (!all.length) return;
  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    const db = bossDb(client);
    const completed = await ctx.boss.complete(
      queue,
      all.map((i) => attemptOf(i.job)),
      null,
      { db },
    );
    const settled = new Set(settledIds(completed) ?? all.map((i) => i.job.id));
    const items = all.filter((i) => settled.has(i.job.id));
    const ids = items.map(() => randomUUID());
    const delays = await waitBehind(ctx, client, queue, items, ids);
    if (items.length) {
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
    }
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
  queue: string,
  items: readonly PutOffItem[],
  ids: readonly string[],
): Promise<number[]> {
  const delays = items.map((i) => i.delaySeconds);
  let behind = items.flatMap((item, i) => (item.behind || item.dependant ? [i] : []));
  // A predecessor locked by its recorder is final a moment later: look again a few times.
  for (let look = 0; behind.length && look < SKIPPED_LOOKS; look++) {
    if (look) await new Promise((resolve) => setTimeout(resolve, SKIPPED_PAUSE_MS));
    const waiting = new Map<string, sql.Waiting>();
    const named = async (statement: string, which: number[], ...extra: unknown[]) => {
      if (!which.length) return;
      const { rows } = await client.query<{ job: string; waiting: sql.Waiting }>(
        prepared(statement, [
          which.map((i) => items[i]!.job.data.bulk),
          which.map((i) => items[i]!.job.data.key),
          which.map((i) => ids[i]!),
          ...extra,
        ]),
      );
      for (const r of rows) waiting.set(r.job, r.waiting);
    };
    await named(
      sql.nameWaitingJobs(ctx.schema),
      behind.filter((i) => !items[i]!.dependant),
    );
    await named(
      nameDependantJobs(ctx.schema),
      behind.filter((i) => items[i]!.dependant),
      queue,
    );
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
 * How long a busy delivery waits: until its retry is due when that is why, else (behind an earlier
 * operation of its key) a second, doubling per put-off up to 30.
 */
export function busyDelaySeconds(item: NotClaimed): number {
  if (item.wait !== null) return Math.max(1, item.wait);
  return Math.min(30, 2 ** Math.min(5, item.job.data.deferred ?? 0));
}
