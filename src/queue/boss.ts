/**
 * pg-boss setup: one instance per process, one queue per entity, and the dead-letter queue that
 * catches jobs whose retries ran out so no operation is left open with no job behind it.
 */
import { PgBoss } from 'pg-boss';
import { configDefaults } from '../config.ts';
import { RETRY_DELAY_MAX_SECONDS } from '../operations/policy.ts';
import type { QueueResult } from 'pg-boss';
import type { Logger } from '../kernel/logger.ts';
import { DEAD_LETTER_QUEUE, queueForEntity } from './names.ts';
import { analyzeJobTable } from '../db/sql/queue.ts';
import { createJobOperationIndex } from './job-index.ts';
import { connectionSettings, type ConnectionBounds } from '../db/pool.ts';
import { isRetriable } from '../operations/status.ts';

export interface BossOptions {
  connectionString: string;
  /** pg-boss's own schema (kept apart from ours so it can be dropped or upgraded on its own). */
  schema: string;
  /**
   * Whether this process runs pg-boss maintenance: expiring jobs of dead workers, deleting old jobs.
   * Consumers do; the HTTP server does not, so request latency never queues behind a sweep.
   */
  supervise?: boolean;
  /**
   * How often a supervising process looks for jobs whose worker died (expired or silent heartbeat).
   * pg-boss defaults to 60 s, which alone would put a crashed operation a minute or more away from
   * its retry; the claim is taken per queue in the database, so many consumers still sweep once.
   */
  superviseIntervalSeconds?: number;
  /**
   * Whether a supervising process also checks the job tables' dead rows against autovacuum's budget
   * at every sweep (pg-boss's default: yes). The check reads pg_stat_user_tables, which walks every
   * relation of the database: about half a sweep's PostgreSQL CPU in a database of many schemas.
   */
  monitorVacuum?: boolean;
  /** Size of pg-boss's own pool. */
  max?: number;
  applicationName?: string;
  /** Connect, statement and idle-in-transaction timeouts of pg-boss's pool (defaults: the config's). */
  bounds?: Partial<ConnectionBounds>;
  log?: Logger;
}

export async function createBoss(options: BossOptions): Promise<PgBoss> {
  const supervise = options.supervise ?? false;
  const interval = options.superviseIntervalSeconds ?? 10;
  const boss = new PgBoss({
    connectionString: options.connectionString,
    schema: options.schema,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'magento-async:queue',
    ...connectionSettings(options.bounds),
    supervise,
    ...(supervise ? { superviseIntervalSeconds: interval, monitorIntervalSeconds: interval } : {}),
    ...(options.monitorVacuum === false ? { monitorVacuum: false } : {}),
    // We keep no cron schedules; the timekeeper would only poll for nothing.
    schedule: false,
    // pg-boss's own listener wakes only `work()` workers of `notify` queues, and we have none: the
    // consumer's fetch loops listen on the same channel themselves (src/consumer/wake.ts), and the
    // dead-letter worker's queue sends no NOTIFY. Off, it costs every pg-boss instance no dedicated
    // connection and no heartbeat query every 10 s. Inserts into `notify` queues still NOTIFY.
    useListenNotify: false,
    openTelemetry: { enabled: false },
  });
  // An EventEmitter with no 'error' listener throws: a dropped connection must not kill the process.
  // A database restart shows up here as connection errors while pg-boss reconnects: expected, so
  // they are warnings; anything else stays an error.
  boss.on('error', (error) =>
    isRetriable(error)
      ? options.log?.warn({ err: error }, 'pg-boss lost its database connection; reconnecting')
      : options.log?.error({ err: error }, 'pg-boss error'),
  );
  await boss.start();
  schemas.set(boss, options.schema);
  return boss;
}

const schemas = new WeakMap<PgBoss, string>();

/**
 * The schema a boss made by {@link createBoss} lives in (pg-boss does not expose its configuration).
 * The consumer needs it to listen on pg-boss's NOTIFY channel itself: it fetches with its own loop,
 * which pg-boss's listener (it wakes only `work()` workers) knows nothing of.
 */
export function bossSchemaOf(boss: PgBoss): string | undefined {
  return schemas.get(boss);
}

/** {@link bossSchemaOf}, or pg-boss's default schema for a boss made elsewhere. */
export const bossSchemaFor = (boss: PgBoss): string => schemas.get(boss) ?? 'pgboss';

/**
 * Delivery retry and expiry policy of the entity queues. pg-boss retries a job only when its
 * delivery failed (its worker died, its batch failed); an operation's own retries are jobs of their
 * own (src/operations/retries.ts), apart from these.
 */
export interface QueuePolicyConfig {
  /** Deliveries again after the first (`consumer.deliveryRetryLimit`); then dead-lettered. */
  retryLimit?: number;
  /** Seconds before the first retry; doubled per retry (with jitter) when `retryBackoff`. */
  retryDelay?: number;
  retryBackoff?: boolean;
  /** Cap of the backoff, seconds. */
  retryDelayMax?: number;
  /**
   * Longest a fetched batch may take, seconds: after it the job is taken back and retried. It also
   * bounds how long a worker that died silently holds its jobs when there is no heartbeat.
   */
  expireInSeconds?: number;
  /**
   * Heartbeat interval (pg-boss needs ≥ 10, or null for none): a worker that stops beating loses
   * its jobs after this many seconds, well before `expireInSeconds`.
   */
  heartbeatSeconds?: number | null;
}

/** The configuration's defaults. */
export const DEFAULT_QUEUE_POLICY: Required<QueuePolicyConfig> = {
  ...queuePolicyFromConfig(configDefaults.consumer),
  retryDelayMax: RETRY_DELAY_MAX_SECONDS,
};

function queueOptions(policy: QueuePolicyConfig) {
  const p = { ...DEFAULT_QUEUE_POLICY, ...policy };
  return {
    retryLimit: p.retryLimit,
    retryDelay: p.retryDelay,
    retryBackoff: p.retryBackoff,
    // pg-boss rejects a cap without backoff.
    retryDelayMax: p.retryBackoff ? p.retryDelayMax : undefined,
    expireInSeconds: p.expireInSeconds,
    heartbeatSeconds: p.heartbeatSeconds,
    notify: true,
    deadLetter: DEAD_LETTER_QUEUE,
    // pg-boss deletes a job still queued or retrying after its retention (14 days by default):
    // an operation must keep its job however long consumers are away. The sweeper backs this up.
    retentionSeconds: QUEUED_JOB_RETENTION_SECONDS,
  };
}

/** Ten years: a queued job outlives any consumer outage. */
export const QUEUED_JOB_RETENTION_SECONDS = 10 * 365 * 86400;

/**
 * Creates the queue of every entity (and the dead-letter queue) when missing; an existing queue gets
 * the configured policy through `updateQueue`, so a changed retry limit applies to jobs inserted from
 * now on (a job copies its queue's policy when it is inserted). Safe to call from every process.
 */
export async function ensureQueues(
  boss: PgBoss,
  entities: Iterable<string>,
  policy: QueuePolicyConfig = {},
): Promise<string[]> {
  const names = [...new Set([...entities].map(queueForEntity))].sort();
  // Claims and every look at an operation's jobs probe it (job-index.ts).
  await boss.getDb().executeSql(createJobOperationIndex(bossSchemaFor(boss)));
  const existing = new Map<string, QueueResult>(
    (await boss.getQueues([DEAD_LETTER_QUEUE, ...names])).map((q) => [q.name, q]),
  );
  if (!existing.has(DEAD_LETTER_QUEUE)) {
    // Its jobs only ask "is this operation still open?", which cannot fail for long: no retry delay.
    // No `notify`: dead-lettering happens inside pg-boss's fail statement, which sends none, and a
    // notify queue's workers poll at their slow backstop interval.
    await boss.createQueue(DEAD_LETTER_QUEUE, { retryLimit: 10, expireInSeconds: 60 });
  }
  const options = queueOptions(policy);
  for (const name of names) {
    const current = existing.get(name);
    if (!current) {
      // createQueue is a no-op for a queue another process created meanwhile; update below covers it.
      // pg-boss validates a present `heartbeatSeconds` key even when it is undefined.
      const { heartbeatSeconds, retryDelayMax, ...rest } = options;
      await boss.createQueue(name, {
        ...rest,
        ...(heartbeatSeconds === null ? {} : { heartbeatSeconds }),
        ...(retryDelayMax === undefined ? {} : { retryDelayMax }),
      });
    } else if (!samePolicy(current, options)) {
      await boss.updateQueue(name, { ...options, retryDelayMax: options.retryDelayMax ?? null });
    }
  }
  return names;
}

function samePolicy(q: QueueResult, o: ReturnType<typeof queueOptions>): boolean {
  return (
    q.retryLimit === o.retryLimit &&
    q.retryDelay === o.retryDelay &&
    q.retryBackoff === o.retryBackoff &&
    (q.retryDelayMax ?? null) === (o.retryDelayMax ?? null) &&
    q.expireInSeconds === o.expireInSeconds &&
    (q.heartbeatSeconds ?? null) === (o.heartbeatSeconds ?? null) &&
    q.notify === o.notify &&
    q.deadLetter === o.deadLetter &&
    q.retentionSeconds === o.retentionSeconds
  );
}

/**
 * Refreshes the planner's statistics of the job table. After a large insert into a fresh queue the
 * stale estimates make each fetch take hundreds of milliseconds until autovacuum catches up.
 */
export async function analyzeJobs(db: { query(text: string): Promise<unknown> }, bossSchema: string): Promise<void> {
  await db.query(analyzeJobTable(bossSchema));
}

/**
 * The queue policy of a deployment, built in one place so server and consumers never disagree:
 * the delivery settings, never the operation's own retry settings.
 */
export function queuePolicyFromConfig(consumer: {
  deliveryRetryLimit: number;
  deliveryRetryDelaySeconds: number;
  expireInSeconds: number;
  heartbeatSeconds: number | null;
}): Required<Omit<QueuePolicyConfig, 'retryDelayMax'>> {
  return {
    retryLimit: consumer.deliveryRetryLimit,
    retryDelay: consumer.deliveryRetryDelaySeconds,
    retryBackoff: true,
    expireInSeconds: consumer.expireInSeconds,
    heartbeatSeconds: consumer.heartbeatSeconds,
  };
}
