/**
 * The worker: per queue, `concurrency` fetch loops. Each fetches a batch with `boss.fetch` (which
 * also claims the batch's operations, see src/queue/fetch-fold.ts and src/operations/claims.ts), hands it to `processBatch`
 * (which settles every job itself), and fetches again at once, until a fetch comes back empty; then
 * it sleeps until a NOTIFY says the queue got jobs, or a poll interval passes. Jobs whose queue has
 * a heartbeat are touched while their batch runs; the operations' own leases are kept by the batch.
 *
 * pg-boss's `work()` did this before. Its per-batch machinery (abort controllers per job, a
 * timeout race, telemetry wrappers, a completion statement after the handler) cost as much as
 * the fetch and completion themselves; this loop keeps only what the consumer needs.
 */
import { parseCryptKey } from '../accept/crypt-key.ts';
import { getOrCreateCryptKey } from '../auth/crypt-key.ts';
import type { Job, JobAttempt, PgBoss } from 'pg-boss';
import { bareName, type Pool } from '../db/pool.ts';
import type { Logger } from '../kernel/logger.ts';
import { DEAD_LETTER_QUEUE, type OperationJob } from '../queue/names.ts';
import type { Gate } from '../kernel/gate.ts';
import { BatchFailure, processBatch, type BatchContext, type Delivery } from './batch.ts';
import { Capacity } from './capacity.ts';
import { errorLogFields, isRetriable } from '../operations/status.ts';
import type { OperationInvoker } from './invoker.ts';
import { batchHandlersOf } from './batch-handler.ts';
import { claimFold, recordQueueSchema } from '../operations/claims.sql.ts';
import { configDefaults } from '../config.ts';
import { DEFAULT_LIFECYCLE, type LifecyclePolicy } from '../operations/policy.ts';
import { closeAbandoned, sweep, sweepStart } from '../operations/sweep.ts';
import { foldedFetchDb } from '../queue/fetch-fold.ts';
import { fetchPool } from '../queue/fetch-plan.ts';
import { bossSchemaFor } from '../queue/boss.ts';
import { QueueWaker } from './wake.ts';
import { Vacuum } from './vacuum.ts';

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
  /** How long outcomes may wait to be written, and a batch's shared transaction stay open, ms. */
  flushAfterMs?: number;
  /**
   * Handlers in flight per fetch loop (`consumer.inFlight`): the consumer runs at most
   * `queues × concurrency × inFlight` at once, and claims no more than it can start now (capacity.ts).
   */
  inFlight?: number;
  /** The gates (upstreams' slots) the operations of a queue may go through (capacity.ts). */
  gatesOf?: (queue: string) => readonly Gate[];
  /** Converts an operation's stored arguments before its handler runs (src/plugins/coerce.ts). */
  coerce?: BatchContext['coerce'];
  /** Handlers of a batch share one transaction (default true; false is the benchmark's baseline). */
  shareTransactions?: boolean;
  /** Batch handlers by operationId (see `BatchContext.batchHandlerOf`). */
  batchHandlerOf?: BatchContext['batchHandlerOf'];
  /** The crypt key (parsed); default: the one stored in the database, as a server without CRYPT_KEY uses. */
  cryptKey?: Buffer;
  /** Leases, handler timeout and retries (defaults: DEFAULT_LIFECYCLE). */
  policy?: Partial<LifecyclePolicy>;
  /**
   * The sweeper (re-enqueues unfinished operations with no job): pg-boss's schema and the queue of
   * an operationId. Without them, no sweep.
   */
  sweeper?: { bossSchema: string; queueOf(operationId: string): string | undefined; intervalSeconds?: number };
  log: Logger;
  /** Told of every handler run (metrics). */
  observe?: BatchContext['observe'];
  /**
   * Search path of handler transactions: our schema, then the plugins' own schemas, so handlers
   * name plugin tables unqualified (`PluginRegistry.searchPath`). Default our schema and public.
   */
  searchPath?: readonly string[];
  /** What operations require before they run (plugins' `requires`, src/consumer/requirements.ts). */
  dependencies?: BatchContext['dependencies'];
  /**
   * Operations handled between two vacuums when the server's autovacuum is off (vacuum.ts): our
   * tables, pg-boss's job table and the tables of the plugins' schemas in `searchPath`.
   */
  vacuumEvery?: number;
}

export interface ConsumerHandle {
  /** Stops fetching, lets the batches in hand finish, then resolves. */
  stop(): Promise<void>;
  /** Resolves when the consumer has stopped (by `stop()` or `maxMessages`). */
  done: Promise<void>;
  /** Operations handled so far (see `processBatch`: put-off and given-back deliveries do not count). */
  handled(): number;
  /** Operations the sweeper re-enqueued so far (they had no job). */
  swept(): number;
  /** Runs one sweep now (tests, and the first one at start). */
  sweep(): Promise<void>;
}

export { ABANDONED_MESSAGE } from '../operations/sweep.ts';

export async function startConsumer(options: ConsumerOptions): Promise<ConsumerHandle> {
  const { boss, pool, schema, log } = options;
  const batchSize = Math.max(
    1,
    Math.min(options.batchSize ?? configDefaults.consumer.batchSize, options.maxMessages ?? Infinity),
  );
  const concurrency = Math.max(1, options.concurrency ?? configDefaults.consumer.concurrency);
  let stopping = false;
  const policy: LifecyclePolicy = { ...DEFAULT_LIFECYCLE, ...options.policy };
  const ctx: BatchContext = {
    pool,
    boss,
    schema,
    invoker: options.registry,
    log,
    policy,
    // Set once the waker is listening (below); a put-off job made runnable wakes the loops.
    wake: undefined,
    flushAfterMs: options.flushAfterMs ?? 1000,
    inFlight: Math.max(1, options.inFlight ?? configDefaults.consumer.inFlight),
    shareTransactions: options.shareTransactions ?? true,
    // The registry's batch chains (batch-handler.ts) unless the caller brings its own.
    batchHandlerOf: options.batchHandlerOf ?? (options.registry.batch ? batchHandlersOf(() => ctx) : undefined),
    cryptKey: options.cryptKey ?? parseCryptKey(await getOrCreateCryptKey(pool, schema)),
    stopping: () => stopping,
    observe: options.observe,
    searchPath: options.searchPath,
    gateOf: options.registry.gateOf?.bind(options.registry),
    coerce: options.coerce,
    dependencies: options.dependencies,
  };
  const pollMs = Math.max(0.5, options.pollingIntervalSeconds ?? 1) * 1000;
  const notifyPollMs = Math.max(0.5, options.notifyPollingIntervalSeconds ?? 3) * 1000;
  const queues = [...new Set(options.queues)];
  const capacity = new Capacity(queues.length * concurrency * ctx.inFlight);

  let handled = 0;
  // Jobs asked for by fetches in flight, or in hand: with maxMessages, no fetch asks for more than
  // is left.
  let reserved = 0;
  let stopped: Promise<void> | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const bossSchema = bareName(bossSchemaFor(boss));
  // Before anything is claimed: a trigger looks at these jobs to tell which waiters are held.
  await pool.query(recordQueueSchema(schema), [bossSchema]);
  const waker = await QueueWaker.start(boss, log);
  ctx.wake = (queue) => waker.wake(queue);
  // pg-boss's fetch statement with the batch's operations claimed in the same statement, run as a
  // named statement on connections of its own (src/queue/fetch-plan.ts: planned as an index walk,
  // so a fetch costs the same at any depth). A fetch is short: a few connections serve every loop.
  const fetching = fetchPool(pool, Math.min(queues.length * concurrency, 4));
  const fetchDb = foldedFetchDb(fetching, claimFold(schema));
  // The plugins' own schemas: the search path's, after ours (PluginRegistry.searchPath).
  const pluginSchemas = (options.searchPath ?? []).filter((n) => n !== schema && n !== 'public');
  const vacuum = new Vacuum(pool, schema, bossSchema, log, options.vacuumEvery, pluginSchemas);
  // A backlog accepted while no consumer ran is vacuumed now, before the first fetch, not 100,000
  // operations in (vacuum.ts).
  await vacuum.start();

  const quota = (): number =>
    options.maxMessages === undefined ? batchSize : Math.min(batchSize, options.maxMessages - handled - reserved);
  // Loops waiting for a share of `maxMessages` that other loops reserved: woken whenever a
  // reservation is given back (a fetch came back short, a batch put some of its jobs off) or the
  // consumer stops. A loop must not end while its queue may still bring the last of them: with
  // many queues the first loops reserve it all, and most of their fetches come back empty.
  let quotaWaiters: (() => void)[] = [];
  const quotaFreed = () => {
    const woken = quotaWaiters;
    quotaWaiters = [];
    for (const wake of woken) wake();
  };

  // Queues one of whose loops, finding it empty, polls it for the others.
  const polling = new Set<string>();
  const loop = async (queue: string): Promise<void> => {
    const gates = options.gatesOf?.(queue) ?? [];
    while (!stopping) {
      const left = quota();
      if (left <= 0) {
        if (handled >= options.maxMessages!) break;
        await new Promise<void>((resolve) => quotaWaiters.push(resolve));
        continue;
      }
      // Only what can start now is claimed: free handler slots, and the gates' free slots.
      const room = capacity.available(gates);
      if (room <= 0) {
        await capacity.freed();
        continue;
      }
      const want = Math.min(left, room);
      const hold = capacity.hold(want, gates);
      reserved += want;
      let jobs: Job<OperationJob>[];
      // Taken before the fetch statement, whose claim starts the database's lease clock.
      const claimedAt = performance.now();
      try {
        jobs = await boss.fetch<OperationJob>(queue, { batchSize: want, db: fetchDb });
      } catch (error) {
        hold.release();
        reserved -= want;
        quotaFreed();
        if (stopping) break;
        // A database restart is expected now and then: its reconnect is not an error.
        log[isRetriable(error) ? 'warn' : 'error']({ err: error, queue }, 'fetching jobs failed');
        await waker.sleep(queue, pollMs);
        continue;
      }
      hold.fetched(jobs.length);
      // The jobs in hand stay reserved until they count as handled.
      reserved -= want - jobs.length;
      if (jobs.length < want) quotaFreed();
      if (!jobs.length) {
        // One loop per idle queue polls; the others sleep until a NOTIFY or that poller finds jobs,
        // so an idle queue is asked once per interval, not once per loop.
        const polls = !polling.has(queue);
        if (polls) polling.add(queue);
        try {
          await waker.sleep(queue, polls ? (waker.listening ? notifyPollMs : pollMs) : null);
        } finally {
          if (polls) polling.delete(queue);
        }
        continue;
      }
      // Work again: the queue's other loops, asleep behind its poller, come back too.
      waker.wake(queue);
      let ran = 0;
      try {
        ran = await runBatch(ctx, queue, jobs, { claimedAt, hold });
      } finally {
        reserved -= jobs.length;
        handled += ran;
        vacuum.handled(ran);
        if (ran < jobs.length) quotaFreed();
      }
      if (options.maxMessages !== undefined && handled >= options.maxMessages) void stop();
    }
  };

  const onBossStopped = () => void stop();
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      quotaFreed();
      capacity.wakeAll();
      boss.off('stopped', onBossStopped);
      clearTimeout(sweeper);
      await waker.close();
      // Each loop ends once the batch in hand is settled.
      await Promise.all(loops);
      await vacuum.idle();
      await fetching.end();
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
        const closed = await closeAbandoned(ctx, jobs);
        if (closed) log.warn({ count: closed }, 'closed operations whose attempts were exhausted');
      },
    );
  }

  let swept = 0;
  const cursor = sweepStart();
  /** One window of the sweep (sweep.ts); whether it reached the table's end. */
  const sweepOnce = async (): Promise<boolean> => {
    if (!options.sweeper) return true;
    try {
      const { count, wrapped } = await sweep(ctx, options.sweeper.bossSchema, options.sweeper.queueOf, queues, cursor);
      swept += count;
      if (count) log.warn({ count, total: swept }, 'sweeper re-enqueued unfinished operations that had no job');
      return wrapped;
    } catch (error) {
      log[isRetriable(error) ? 'warn' : 'error']({ err: error }, 'sweep failed');
      return true;
    }
  };
  // A sweep walks the operations a window at a time (a bounded look, whatever the depth): the next
  // window comes 20 times as long after as the last took, so the sweeper never takes more than a
  // twentieth of a connection, and once a walk reached the end the next starts after the interval.
  let sweeper: NodeJS.Timeout | undefined;
  const sweepAndSchedule = async () => {
    const started = performance.now();
    const wrapped = await sweepOnce();
    if (stopping || !options.sweeper) return;
    const paced = (performance.now() - started) * 20;
    const ms = wrapped ? Math.max((options.sweeper.intervalSeconds ?? 60) * 1000, paced) : paced;
    sweeper = setTimeout(() => void sweepAndSchedule(), ms);
  };

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
  // After an outage (or pg-boss retention) an operation may have no job left: look once at start.
  void sweepAndSchedule();
  // A boss stopped under the consumer ends it too: fetching from it would only fail from now on.
  boss.once('stopped', onBossStopped);

  log.info({ queues, batchSize, concurrency, notify: waker.listening }, 'consumer started');
  return {
    stop,
    done,
    handled: () => handled,
    swept: () => swept,
    sweep: async () => void (await sweepOnce()),
  };
}

/**
 * Runs one batch (its claims' jobs are touched by its leases while it runs, src/operations/claims.ts).
 * A batch that throws has its jobs failed (fenced to this attempt, so pg-boss delivers them again),
 * which gives their claims back; with the database away, that is tried again every second until
 * it is back (or the jobs' heartbeat or expiry frees them), so a restart costs seconds.
 */
async function runBatch(
  ctx: BatchContext,
  queue: string,
  jobs: Job<OperationJob>[],
  delivery: Delivery,
): Promise<number> {
  const attempts: JobAttempt[] = jobs.map((j) => ({ id: j.id, retryCount: j.retryCount }));
  try {
    return await processBatch(ctx, queue, jobs, delivery);
  } catch (error) {
    const cause = error instanceof BatchFailure ? error.cause : error;
    ctx.log[isRetriable(cause) ? 'warn' : 'error'](
      { ...errorLogFields(cause), queue, jobs: jobs.length },
      'batch failed; its unsettled jobs are delivered again',
    );
    const message = cause instanceof Error ? cause.message : String(cause);
    const seconds = Math.min(...jobs.map((j) => j.heartbeatSeconds || j.expireInSeconds || Infinity));
    const until = performance.now() + (Number.isFinite(seconds) ? seconds : 60) * 1000;
    for (let tried = 0; ; tried++) {
      try {
        await ctx.boss.fail(queue, attempts, { message });
        break;
      } catch (failError) {
        if (performance.now() > until || ctx.stopping()) {
          // Left to lapse: the jobs' heartbeat or expiry frees them.
          ctx.log.warn({ err: failError, queue }, 'could not give back the jobs of a failed batch');
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** tried)));
      }
    }
    return 0;
  }
}
