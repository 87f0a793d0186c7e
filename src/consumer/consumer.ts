/**
 * The worker: per queue, `concurrency` fetch loops. Each fetches a batch with `boss.fetch`, hands it
 * to `processBatch` (which settles every job itself), and fetches again at once, until a fetch
 * comes back empty; then it sleeps until a NOTIFY says the queue got jobs, or a poll interval
 * passes. Jobs whose queue has a heartbeat are touched while their batch runs.
 *
 * pg-boss's `work()` did this before. Its per-batch machinery (abort controllers per job, a
 * timeout race, telemetry wrappers, a completion statement after the handler) cost as much as
 * the fetch and completion themselves; this loop keeps only what the consumer needs. Expiry needs
 * nothing here: a supervising pg-boss takes back the jobs of a batch that runs past
 * `expireInSeconds`, and every settle is fenced to the attempt that was fetched, so a late batch
 * settles nothing that is no longer its own.
 */
import type { Job, JobAttempt, PgBoss } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { closeAbandonedOperations } from '../db/sql/consumer.ts';
import type { Logger } from '../plugins/api.ts';
import { DEAD_LETTER_QUEUE, type OperationJob } from '../queue/names.ts';
import { processBatch, type BatchContext } from './batch.ts';
import type { OperationInvoker } from './invoker.ts';
import { fetchWithOperations } from './fetch.ts';
import { QueueWaker } from './wake.ts';

export interface ConsumerOptions {
  pool: Pool;
  /** A started pg-boss; the caller stops it after the consumer. */
  boss: PgBoss;
  /** Our schema (bulk, operation tables). */
  schema: string;
  registry: OperationInvoker;
  /** pg-boss queue names (`async.<entity>`), created beforehand by `ensureQueues`. */
  queues: string[];
  /** Jobs per fetch. */
  batchSize?: number;
  /** Batches in flight per queue: this many fetch loops per queue. */
  concurrency?: number;
  /** Stop once this many operations were handled (Magento's `--max-messages`); `done` resolves. */
  maxMessages?: number;
  /** Idle poll when NOTIFY is unavailable (a boss not made by `createBoss`), seconds (≥ 0.5). */
  pollingIntervalSeconds?: number;
  /**
   * Idle poll while NOTIFY wakes the worker on inserts, seconds. Still needed: a retry becomes due
   * when its backoff ends, and nothing notifies that, so this bounds the extra wait of a retry.
   */
  notifyPollingIntervalSeconds?: number;
  /** Also close operations whose jobs exhausted their attempts (default true). */
  deadLetter?: boolean;
  /** How long outcomes of transaction-less handlers may wait to be written, ms. */
  flushAfterMs?: number;
  log: Logger;
  /** Told of every handler run (metrics). */
  observe?: BatchContext['observe'];
}

export interface ConsumerHandle {
  /** Stops fetching, lets the batches in hand finish, then resolves. */
  stop(): Promise<void>;
  /** Resolves when the consumer has stopped (by `stop()` or `maxMessages`). */
  done: Promise<void>;
  /** Jobs handled so far. */
  handled(): number;
}

export const ABANDONED_MESSAGE =
  'The operation did not finish: its worker stopped on every attempt (crashed or timed out). Retry it once the cause is fixed.';

export async function startConsumer(options: ConsumerOptions): Promise<ConsumerHandle> {
  const { boss, pool, schema, log } = options;
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 100, options.maxMessages ?? Infinity));
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const ctx: BatchContext = {
    pool,
    boss,
    schema,
    invoker: options.registry,
    log,
    flushAfterMs: options.flushAfterMs ?? 1000,
    observe: options.observe,
  };
  const pollMs = Math.max(0.5, options.pollingIntervalSeconds ?? 1) * 1000;
  const notifyPollMs = Math.max(0.5, options.notifyPollingIntervalSeconds ?? 3) * 1000;
  const queues = [...new Set(options.queues)];

  let handled = 0;
  // Jobs asked for by fetches in flight, or in hand: with maxMessages, no fetch asks for more than
  // is left.
  let reserved = 0;
  let stopping = false;
  let stopped: Promise<void> | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const waker = await QueueWaker.start(boss, log);
  // pg-boss's fetch statement with the batch's operations loaded in the same statement, run as a
  // named statement on our pool: planned once per connection rather than once per batch.
  const fetchDb = fetchWithOperations(pool, schema);

  const quota = (): number =>
    options.maxMessages === undefined ? batchSize : Math.min(batchSize, options.maxMessages - handled - reserved);

  const loop = async (queue: string): Promise<void> => {
    while (!stopping) {
      const want = quota();
      if (want <= 0) break;
      reserved += want;
      let jobs: Job<OperationJob>[];
      try {
        jobs = await boss.fetch<OperationJob>(queue, { batchSize: want, db: fetchDb });
      } catch (error) {
        reserved -= want;
        if (stopping) break;
        log.error({ err: error, queue }, 'fetching jobs failed');
        await waker.sleep(queue, pollMs);
        continue;
      }
      // The jobs in hand stay reserved until they count as handled.
      reserved -= want - jobs.length;
      if (!jobs.length) {
        await waker.sleep(queue, waker.listening ? notifyPollMs : pollMs);
        continue;
      }
      try {
        await runBatch(ctx, queue, jobs);
      } finally {
        reserved -= jobs.length;
        handled += jobs.length;
      }
      if (options.maxMessages !== undefined && handled >= options.maxMessages) void stop();
    }
  };

  const onBossStopped = () => void stop();
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      boss.off('stopped', onBossStopped);
      await waker.close();
      // Each loop ends once the batch in hand is settled.
      await Promise.all(loops);
      if (options.deadLetter !== false) await boss.offWork(DEAD_LETTER_QUEUE, { wait: true });
      resolveDone();
    })();
    return stopped;
  };

  if (options.deadLetter !== false) {
    await boss.work<OperationJob>(
      DEAD_LETTER_QUEUE,
      { batchSize: 100, pollingIntervalSeconds: 5, notifyPollingIntervalSeconds: 5 },
      async (jobs) => {
        const result = await pool.query(closeAbandonedOperations(schema), [
          jobs.map((j) => j.data.bulk),
          jobs.map((j) => j.data.key),
          ABANDONED_MESSAGE,
        ]);
        if (result.rowCount) log.warn({ count: result.rowCount }, 'closed operations whose attempts were exhausted');
      },
    );
  }

  const loops: Promise<void>[] = [];
  for (const queue of queues) {
    for (let i = 0; i < concurrency; i++) {
      loops.push(
        loop(queue).catch((error: unknown) => {
          // Not expected (runBatch settles its own failures); a loop must not end the process.
          log.error({ err: error, queue }, 'consumer loop ended');
        }),
      );
    }
  }
  // A boss stopped under the consumer ends it too: fetching from it would only fail from now on.
  boss.once('stopped', onBossStopped);

  log.info({ queues, batchSize, concurrency, notify: waker.listening }, 'consumer started');
  return { stop, done, handled: () => handled };
}

/**
 * Runs one batch, touching its jobs while it runs when their queue has a heartbeat; a batch that
 * throws has the jobs it did not settle failed (fenced to this attempt), so pg-boss retries them.
 */
async function runBatch(ctx: BatchContext, queue: string, jobs: Job<OperationJob>[]): Promise<void> {
  const attempts: JobAttempt[] = jobs.map((j) => ({ id: j.id, retryCount: j.retryCount }));
  const heartbeats = jobs.map((j) => j.heartbeatSeconds ?? 0).filter((s) => s > 0);
  let timer: NodeJS.Timeout | undefined;
  if (heartbeats.length) {
    timer = setInterval(
      () => {
        ctx.boss
          .touch(queue, attempts)
          .catch((error: unknown) => ctx.log.warn({ err: error, queue }, 'heartbeat failed'));
      },
      (Math.min(...heartbeats) * 1000) / 2,
    );
  }
  try {
    await processBatch(ctx, queue, jobs);
  } catch (error) {
    ctx.log.error({ err: error, queue, jobs: jobs.length }, 'batch failed; its unsettled jobs are retried');
    try {
      await ctx.boss.fail(queue, attempts, { message: error instanceof Error ? error.message : String(error) });
    } catch (failError) {
      // They stay active and come back when they expire.
      ctx.log.error({ err: failError, queue }, 'could not fail the jobs of a failed batch');
    }
  } finally {
    if (timer) clearInterval(timer);
  }
}
