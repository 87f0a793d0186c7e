/**
 * `queue:consumers:start` and `queue:consumers:list` (Magento's names). A consumer process migrates,
 * loads the routes and plugins, makes sure the queues exist and runs until SIGTERM/SIGINT (graceful:
 * batches in hand finish) or `--max-messages`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import pino from 'pino';
import { loadConfig, type Config } from '../config.ts';
import { createPool, databaseUrl } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import type { Route } from '../routes/types.ts';
import type { Logger } from '../plugins/api.ts';
import { createBoss, ensureQueues, queuePolicyFromConfig } from '../queue/boss.ts';
import { startConsumer } from '../consumer/consumer.ts';
import type { OperationInvoker } from '../consumer/invoker.ts';
import { listConsumers, selectConsumer } from '../consumer/select.ts';

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return Number(value);
}

/** The generated route table; imported lazily so the CLI starts without it (codegen comes first). */
async function loadRoutes(config: Config): Promise<readonly Route[]> {
  const { loadArtifacts } = await import('../runtime/artifacts.ts');
  return (await loadArtifacts({ generatedDir: config.generatedDir })).routes;
}

async function loadRegistry(config: Config, routes: readonly Route[]) {
  const loader = await import('../plugins/loader.ts');
  const upstream = config.upstream.baseUrl
    ? {
        baseUrl: config.upstream.baseUrl,
        token: config.upstream.token ?? undefined,
        timeoutMs: config.upstream.timeoutMs,
      }
    : undefined;
  const registry = await loader.loadPlugins({
    routes,
    pluginsDir: config.pluginsDir,
    packages: config.pluginPackages,
    upstream,
  });
  return { registry, installs: registry.installs, runInstalls: loader.runInstalls };
}

export interface StartOptions {
  maxMessages?: number;
  batchSize?: number;
  concurrency?: number;
}

export async function runConsumer(
  name: string,
  opts: StartOptions,
  config: Config = loadConfig({ env: process.env }),
): Promise<void> {
  const log = pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2)) as unknown as Logger;
  const routes = await loadRoutes(config);
  const selection = selectConsumer(name, routes);
  if (selection.note) out(`Note: ${selection.note}`);
  const concurrency = opts.concurrency ?? config.consumer.concurrency;
  const url = config.databaseUrl ?? databaseUrl();
  // A batch holds at most one client at a time (its operation's transaction or a set-based write).
  // Batches of every queue share this pool; capped so `async.operations.all` over dozens of entity
  // queues stays within a managed Postgres' connection limit (batches wait for a client instead).
  const pool = createPool({
    connectionString: url,
    max: Math.min(concurrency * selection.queues.length + 4, 24),
    applicationName: `magento-async:consumer`,
  });
  let boss: Awaited<ReturnType<typeof createBoss>> | undefined;
  try {
    await migrate(pool, config.schema);
    const { registry, installs, runInstalls } = await loadRegistry(config, routes);
    await runInstalls(pool, config.schema, installs);
    boss = await createBoss({
      connectionString: url,
      schema: config.bossSchema,
      supervise: true,
      log,
      applicationName: 'magento-async:consumer',
    });
    await ensureQueues(
      boss,
      routes.map((r) => r.entity),
      queuePolicyFromConfig(config.consumer),
    );
    const consumer = await startConsumer({
      pool,
      boss,
      schema: config.schema,
      registry: registry as OperationInvoker,
      queues: selection.queues,
      batchSize: opts.batchSize ?? config.consumer.batchSize,
      concurrency,
      maxMessages: opts.maxMessages,
      log,
    });
    const onSignal = (signal: string) => {
      log.info({ signal }, 'stopping: finishing the operations in hand');
      void consumer.stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    await consumer.done;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    log.info({ handled: consumer.handled() }, 'consumer stopped');
  } finally {
    await boss?.stop({ graceful: true });
    await pool.end();
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
