/**
 * A consumer that runs what the servers on its database serve: it starts on the union of the
 * registered route tables and this checkout's generated one (src/runtime/route-tables.ts), and when
 * a server registers a new table it lets the operations in hand finish and starts again on the
 * new union (new entity queues, new routes for the plugins). The fetch/claim/outcome loop itself
 * is `startConfiguredConsumer`'s.
 */
import type { Config } from '../config.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import type { Logger } from '../kernel/logger.ts';
import type { Route } from '../routes/types.ts';
import type { ConsumerHandle } from '../consumer/consumer.ts';
import { startConfiguredConsumer, type ConfiguredConsumer } from '../consumer/run.ts';
import type { ConsumerSelection } from '../consumer/select.ts';
import { servedRoutes, servedVersion, type ServedRoutes } from './route-tables.ts';

export interface FollowingConsumerOptions {
  config: Config;
  name: string;
  log: Logger;
  /** This checkout's generated routes (empty when there are none). */
  localRoutes: readonly Route[];
  batchSize?: number;
  concurrency?: number;
  maxMessages?: number;
  /** How often the registered tables are checked. Default 2000 ms. */
  pollMs?: number;
  /**
   * Where the registered tables are read: a pool of the caller's, open until this consumer is
   * closed (`start` lends its server's). Default: a one-connection pool of its own.
   */
  pool?: Pool;
}

export interface FollowingConsumer {
  consumer: ConsumerHandle;
  /** The selection and routes of the consumer running now. */
  selection(): ConsumerSelection;
  served(): ServedRoutes;
  /** The running consumer's Prometheus endpoint, when configured. */
  metricsUrl(): string | null;
  close(): Promise<void>;
}

export async function startFollowingConsumer(options: FollowingConsumerOptions): Promise<FollowingConsumer> {
  const { config, log } = options;
  const own = options.pool === undefined;
  const pool =
    options.pool ??
    createPool({ connectionString: config.databaseUrl, max: 1, applicationName: 'magento-async:routes' });
  const endPool = () => (own ? pool.end() : Promise.resolve());
  let current: ConfiguredConsumer;
  let served: ServedRoutes;
  try {
    await migrate(pool, config.schema);
    served = await servedRoutes(pool, config.schema, options.localRoutes);
    current = await start(served, options.maxMessages);
  } catch (error) {
    await endPool().catch(() => {});
    throw error;
  }

  function start(routes: ServedRoutes, maxMessages: number | undefined): Promise<ConfiguredConsumer> {
    return startConfiguredConsumer({
      config,
      routes: routes.routes,
      name: options.name,
      log,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      maxMessages,
    });
  }

  let handledBefore = 0;
  let stopped = false;
  let restarting = false;
  let finish!: (error?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (error) => (error === undefined ? resolve() : reject(error as Error));
  });
  const watchDone = (running: ConfiguredConsumer) =>
    running.consumer.done.then(
      () => {
        if (!restarting) finish();
      },
      (error: unknown) => finish(error),
    );
  void watchDone(current);

  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  const poll = async () => {
    if (stopped) return;
    try {
      const version = await servedVersion(pool, config.schema);
      if (version !== served.version && !stopped) {
        const next = await servedRoutes(pool, config.schema, options.localRoutes);
        log.info({ tables: next.sources }, 'a server registered a new route table: restarting the consumer on it');
        restarting = true;
        await current.close();
        handledBefore += current.consumer.handled();
        served = next;
        const remaining = options.maxMessages === undefined ? undefined : options.maxMessages - handledBefore;
        if (stopped || (remaining !== undefined && remaining <= 0)) {
          restarting = false;
          finish();
          return;
        }
        current = await start(served, remaining);
        restarting = false;
        void watchDone(current);
      }
    } catch (error) {
      // The database is away for a moment: the consumer's own reconnects cover it; try again later.
      if (restarting) {
        restarting = false;
        finish(error);
        return;
      }
      log.warn({ err: error }, 'could not check the registered route tables');
    }
    schedule();
  };
  const schedule = () => {
    if (!stopped) timer = setTimeout(() => (polling = poll()), options.pollMs ?? 2000);
  };
  schedule();

  const stop = async () => {
    stopped = true;
    clearTimeout(timer);
    // A restart under way finishes first, so the consumer stopped is the one running.
    await polling;
    await current.consumer.stop();
  };
  let closed: Promise<void> | undefined;
  return {
    consumer: {
      stop,
      done,
      handled: () => handledBefore + current.consumer.handled(),
      // The sweeper's count restarts with each consumer the route tables bring; the sweep itself is the
      // running consumer's.
      swept: () => current.consumer.swept(),
      sweep: () => current.consumer.sweep(),
    },
    selection: () => current.selection,
    served: () => served,
    metricsUrl: () => current.metricsUrl,
    close() {
      // The consumer closed may be one a restart closed already (a signal during the restart).
      closed ??= (async () => {
        await stop();
        await current.close();
        await endPool();
      })();
      return closed;
    },
  };
}
