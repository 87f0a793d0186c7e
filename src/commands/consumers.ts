/**
 * `queue:consumers:start` and `queue:consumers:list` (Magento's names). A consumer process migrates,
 * loads the routes the servers on its database serve (and this checkout's generated ones), the
 * plugins, makes sure the queues exist and runs until SIGTERM/SIGINT (graceful: batches in hand
 * finish) or `--max-messages`, following new route tables as servers register them.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import type { Route } from '../routes/types.ts';
import { createLogger } from '../server.ts';
import { listConsumers } from '../consumer/select.ts';
import { createPool } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import { checkDatabase, describeDatabase, withResolvedDatabase } from '../runtime/instance.ts';
import { servedRoutes } from '../runtime/route-tables.ts';
import { startFollowingConsumer } from '../runtime/following-consumer.ts';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return Number(value);
}

/**
 * This checkout's generated route table, or none: a consumer machine may have no codegen output
 * and run only what the servers registered. Imported lazily so the CLI starts without it.
 */
export async function localRoutes(config: Config): Promise<readonly Route[]> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  if (!existsSync(join(config.generatedDir, 'routes.gen.ts'))) return [];
  const { importArtifacts } = await import('../runtime/artifacts.ts');
  return (await importArtifacts(config.generatedDir)).routes;
}

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('Expected a port (0-65535).');
  return Number(value);
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

export function registerConsumerCommands(program: Command): void {
  program
    .command('queue:consumers:start')
    .description('Consume async operations: async.operations.all, an entity (products) or a topic')
    .argument('<name>', 'consumer name (see queue:consumers:list)')
    .option('--max-messages <n>', 'stop after handling this many operations', positiveInt)
    .option('--batch-size <n>', 'jobs fetched at once', positiveInt)
    .option('--concurrency <n>', 'batches processed at once per queue', positiveInt)
    .option(
      '--metrics-port <port>',
      'serve /metrics on this port (0: any free port; default metrics.consumerPort)',
      port,
    )
    .action(async (name: string, opts: StartOptions) => {
      await runConsumer(name, opts);
    });

  program
    .command('queue:consumers:list')
    .description('List the consumers and the topics each one runs')
    .action(async () => {
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
    });
}
