/**
 * `queue:consumers:start` and `queue:consumers:list` (Magento's names). A consumer process migrates,
 * loads the routes the servers on its database serve (and this checkout's generated ones), the
 * plugins, makes sure the queues exist and runs until SIGTERM/SIGINT (graceful: batches in hand
 * finish) or `--max-messages`, following new route tables as servers register them.
 */
import { loadConfig, type Config } from '../config.ts';
import type { Route } from '../routes/types.ts';
import { generatedModule } from '../routes/generated-files.ts';
import { createLogger } from '../runtime/logger.ts';
import { listConsumers } from '../consumer/select.ts';
import { createPool } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import { checkDatabase, describeDatabase, withResolvedDatabase } from '../runtime/instance.ts';
import { servedRoutes } from '../runtime/route-tables.ts';
import { startFollowingConsumer } from '../runtime/following-consumer.ts';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * This checkout's generated route table, or none: a consumer machine may have no codegen output
 * and run only what the servers registered. Imported lazily so the CLI starts without it; the
 * route table only: the validators and the async schemas (megabytes for a store's spec) are the
 * server's.
 */
export async function localRoutes(config: Config): Promise<readonly Route[]> {
  if (!generatedModule(config.generatedDir, 'routes')) return [];
  const { importRoutes } = await import('../runtime/artifacts.ts');
  return (await importRoutes(config.generatedDir)).routes;
}

export interface StartOptions {
  maxMessages?: number;
  batchSize?: number;
  concurrency?: number;
  /** `metrics.consumerPort` for this process. */
  metricsPort?: number;
}

export async function runConsumer(
  name: string,
  opts: StartOptions,
  configured: Config = loadConfig({
    env: process.env,
    overrides: opts.metricsPort === undefined ? {} : { metrics: { consumerPort: opts.metricsPort } },
  }),
): Promise<void> {
  const { config, database } = withResolvedDatabase(configured);
  out(describeDatabase(database));
  await checkDatabase(database);
  const log = createLogger(config);
  const { maxMessages, batchSize, concurrency } = opts;
  const running = await startFollowingConsumer({
    config,
    name,
    log,
    localRoutes: await localRoutes(config),
    maxMessages,
    batchSize,
    concurrency,
  });
  const selection = running.selection();
  if (selection.note) out(`Note: ${selection.note}`);
  const metricsUrl = running.metricsUrl();
  if (metricsUrl) out(`Metrics: ${metricsUrl}`);
  log.info({ queues: selection.queues, tables: running.served().sources }, 'consumer started');
  const queues = selection.queues.length;
  out(
    `Consumer ${name} is running (${queues} queue${queues === 1 ? '' : 's'}); Ctrl-C stops it after the operations in hand.`,
  );
  const onSignal = (signal: string) => {
    log.info({ signal }, 'stopping: finishing the operations in hand');
    void running.consumer.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await running.consumer.done;
    log.info({ handled: running.consumer.handled() }, 'consumer stopped');
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await running.close();
  }
}

export async function consumersList(): Promise<void> {
  const { config, database } = withResolvedDatabase(loadConfig({ env: process.env }));
  await checkDatabase(database);
  const pool = createPool({ connectionString: config.databaseUrl, max: 1, applicationName: 'magento-async-cli' });
  let routes: readonly Route[];
  try {
    await migrate(pool, config.schema);
    routes = (await servedRoutes(pool, config.schema, await localRoutes(config))).routes;
  } finally {
    await pool.end();
  }
  const listing = listConsumers(routes);
  const width = Math.max(...listing.map((c) => c.name.length));
  for (const c of listing) out(`${c.name.padEnd(width)}  ${c.queue}  ${c.topics.join(' ')}`.trimEnd());
}
