/**
 * `queue:consumers:start` and `queue:consumers:list` (Magento's names). A consumer process migrates,
 * loads the routes and plugins, makes sure the queues exist and runs until SIGTERM/SIGINT (graceful:
 * batches in hand finish) or `--max-messages`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import type { Route } from '../routes/types.ts';
import { createLogger } from '../server.ts';
import { startConfiguredConsumer } from '../consumer/run.ts';
import { listConsumers } from '../consumer/select.ts';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return Number(value);
}

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('Expected a port (0-65535).');
  return Number(value);
}

/** The generated route table; imported lazily so the CLI starts without it (codegen comes first). */
async function loadRoutes(config: Config): Promise<readonly Route[]> {
  const { loadArtifacts } = await import('../runtime/artifacts.ts');
  return (await loadArtifacts({ generatedDir: config.generatedDir })).routes;
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
  config: Config = loadConfig({
    env: process.env,
    overrides: opts.metricsPort === undefined ? {} : { metrics: { consumerPort: opts.metricsPort } },
  }),
): Promise<void> {
  const log = createLogger(config);
  const routes = await loadRoutes(config);
  const { maxMessages, batchSize, concurrency } = opts;
  const running = await startConfiguredConsumer({ config, routes, name, log, maxMessages, batchSize, concurrency });
  if (running.selection.note) out(`Note: ${running.selection.note}`);
  if (running.metricsUrl) out(`Metrics: ${running.metricsUrl}`);
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
      const config = loadConfig({ env: process.env });
      const listing = listConsumers(await loadRoutes(config));
      const width = Math.max(...listing.map((c) => c.name.length));
      for (const c of listing) out(`${c.name.padEnd(width)}  ${c.queue}  ${c.topics.join(' ')}`.trimEnd());
    });
}
