/**
 * The worker: a pg-boss `work()` per queue (batched fetch, bursting while batches come back full,
 * woken by NOTIFY, heartbeats for the jobs in hand), each batch handed to `processBatch`.
 */
import type { Job, PgBoss } from 'pg-boss';
import type { Pool } from '../db/pool.ts';
import { closeAbandonedOperations } from '../db/sql/consumer.ts';
import type { Logger } from '../plugins/api.ts';
import { DEAD_LETTER_QUEUE, type OperationJob } from '../queue/names.ts';
import { processBatch } from './batch.ts';
import type { OperationInvoker } from './invoker.ts';

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
  /** Batches in flight per queue (pg-boss `localConcurrency`). */
  concurrency?: number;
  /** Stop once this many operations were handled (Magento's `--max-messages`); `done` resolves. */
  maxMessages?: number;
  /** Idle poll when NOTIFY is unavailable, seconds (≥ 0.5). */
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
  const ctx = { pool, boss, schema, invoker: options.registry, log, flushAfterMs: options.flushAfterMs ?? 1000 };
  const workOptions = {
    batchSize,
    localConcurrency: concurrency,
    burstWhenBatchFull: true,
    pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1,
    notifyPollingIntervalSeconds: options.notifyPollingIntervalSeconds ?? 3,
  };

  let handled = 0;
  let stopping: Promise<void> | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const queues = [...new Set(options.queues)];

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const names = options.deadLetter === false ? queues : [...queues, DEAD_LETTER_QUEUE];
      // offWork waits for each worker's batch in hand to finish.
      await Promise.all(names.map((name) => boss.offWork(name, { wait: true })));
      resolveDone();
    })();
    return stopping;
  };

  for (const queue of queues) {
    await boss.work<OperationJob>(queue, workOptions, async (jobs: Job<OperationJob>[]) => {
      try {
        await processBatch(ctx, queue, jobs);
      } finally {
        handled += jobs.length;
        // Not awaited: stop() waits for this very batch to end.
        if (options.maxMessages !== undefined && handled >= options.maxMessages) void stop();
      }
    });
  }

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

  log.info({ queues, batchSize, concurrency }, 'consumer started');
  return { stop, done, handled: () => handled };
}
