/**
 * A consumer wired from configuration: the routes' entity queues, the plugins (with their tables),
 * pg-boss with maintenance on, and the worker. Used by `queue:consumers:start` and by `start`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCryptKey } from '../accept/crypt-key.ts';
import { resolveCryptKey } from '../auth/crypt-key.ts';
import type { Config } from '../config.ts';
import { createPool, databaseUrl } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import type { Route } from '../routes/types.ts';
import { generatedModule } from '../routes/generated-files.ts';
import type { Logger } from '../kernel/logger.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import { configuredPlugins, loadPlugins, runInstalls, type LoadOptions } from '../plugins/loader.ts';
import { createBoss, ensureQueues, queuePolicyFromConfig } from '../queue/boss.ts';
import { startConsumer, type ConsumerHandle } from './consumer.ts';
import type { OperationInvoker } from './invoker.ts';
import { selectConsumer, type ConsumerSelection } from './select.ts';
import { orderRules, saveOrderRules } from '../operations/order-keys.ts';
import { lifecyclePolicyFromConfig } from '../operations/policy.ts';
import { queueForEntity } from '../queue/names.ts';
import { createMetrics, type Metrics } from '../metrics/registry.ts';
import { startMetricsServer } from '../metrics/http.ts';
import { startHeartbeat } from '../metrics/heartbeat.ts';
import type { InputValidator } from '../accept/prepare.ts';
import { argumentCoercer } from '../plugins/coerce.ts';
import type { Gate } from '../kernel/gate.ts';

export interface ConfiguredConsumerOptions {
  config: Config;
  routes: readonly Route[];
  /** `async.operations.all`, an entity, its queue or a topic. */
  name: string;
  log: Logger;
  batchSize?: number;
  concurrency?: number;
  maxMessages?: number;
  /** Plugin modules already in memory, loaded after `pluginsDir` and `pluginPackages` (the test kit). */
  plugins?: LoadOptions['modules'];
  /** Where `pluginPackages` are installed; default the working directory. */
  projectDir?: string;
  /**
   * The generated validators whose coercion turns stored input into what the handlers' types say
   * (src/plugins/coerce.ts). Default: those in `config.generatedDir`, which the plugins' types come
   * from; none when that folder has no codegen output.
   */
  validators?: Readonly<Record<string, InputValidator>>;
}

export interface ConfiguredConsumer {
  consumer: ConsumerHandle;
  /** The loaded plugins (the test kit reads their tables with the handlers' search path). */
  registry: PluginRegistry;
  selection: ConsumerSelection;
  metrics: Metrics;
  /** The consumer's own `/metrics`, when `metrics.consumerPort` is set. */
  metricsUrl: string | null;
  /**
   * Stops the worker (operations in hand finish), then pg-boss and the pool. Closing again waits for
   * the first close: a following consumer's restart and a signal may both close the same one.
   */
  close(): Promise<void>;
}

export async function startConfiguredConsumer(options: ConfiguredConsumerOptions): Promise<ConfiguredConsumer> {
  const { config, routes, log } = options;
  const selection = selectConsumer(options.name, routes);
  const concurrency = options.concurrency ?? config.consumer.concurrency;
  const url = config.databaseUrl ?? databaseUrl();
  // A batch holds at most one client at a time (its operation's transaction or a set-based write).
  // Batches of every queue share this pool; capped so `async.operations.all` over dozens of entity
  // queues stays within a managed Postgres' connection limit (batches wait for a client instead).
  const pool = createPool({
    connectionString: url,
    max: Math.min(concurrency * selection.queues.length + 4, 24),
    applicationName: 'magento-async:consumer',
    log,
  });
  let boss: Awaited<ReturnType<typeof createBoss>> | undefined;
  const entityOf = new Map(routes.map((r) => [r.operationId, r.entity]));
  try {
    await migrate(pool, config.schema);
    const registry = await loadPlugins(
      configuredPlugins(config, routes, { modules: options.plugins, projectDir: options.projectDir }),
    );
    for (const note of registry.notes) log.warn(note);
    await runInstalls(pool, config.schema, registry.installs);
    await saveOrderRules(pool, config.schema, orderRules(routes, registry.orderKeys));
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
    // The upstreams a queue's forwarded operations wait for: its fetches claim no more than they have room for.
    const gatesByQueue = new Map<string, Gate[]>();
    for (const r of routes) {
      const gate = registry.gateOf(r.operationId);
      if (!gate) continue;
      const queue = queueForEntity(r.entity);
      const gates = gatesByQueue.get(queue) ?? [];
      if (!gates.includes(gate)) gatesByQueue.set(queue, [...gates, gate]);
    }
    const metrics = createMetrics({ pool, schema: config.schema, bossSchema: config.bossSchema });
    const consumer = await startConsumer({
      cryptKey: parseCryptKey(await resolveCryptKey(pool, config.schema, config, url, log)),
      pool,
      boss,
      schema: config.schema,
      registry: registry as OperationInvoker,
      coerce: argumentCoercer(options.validators ?? (await localValidators(config.generatedDir)), {
        asStored: (operationId) => registry.describe(operationId)?.kind === 'fallback',
      }),
      gatesOf: (queue) => gatesByQueue.get(queue) ?? [],
      queues: selection.queues,
      batchSize: options.batchSize ?? config.consumer.batchSize,
      concurrency,
      inFlight: config.consumer.inFlight,
      maxMessages: options.maxMessages,
      policy: lifecyclePolicyFromConfig(config.consumer),
      sweeper: {
        bossSchema: config.bossSchema,
        queueOf: (operationId) => {
          const entity = entityOf.get(operationId);
          return entity === undefined ? undefined : queueForEntity(entity);
        },
      },
      log,
      observe: (e) => metrics.processed(e),
      searchPath: registry.searchPath(config.schema),
      dependencies: registry.requires.size
        ? {
            requiresOf: (operationId) => registry.requires.get(operationId),
            waitLimitSeconds: config.consumer.requiresWaitLimitSeconds,
          }
        : undefined,
    });
    const heartbeat = await startHeartbeat({
      pool,
      schema: config.schema,
      queues: selection.queues,
      handled: () => consumer.handled(),
      log,
    });
    const metricsServer =
      config.metrics.consumerPort === null
        ? null
        : await startMetricsServer(metrics, {
            port: config.metrics.consumerPort,
            host: config.metrics.consumerHost,
            token: config.metrics.token,
            loopbackOnly: config.metrics.loopbackOnly,
            log,
          });
    const started = boss;
    let closed: Promise<void> | undefined;
    return {
      consumer,
      registry,
      selection,
      metrics,
      metricsUrl: metricsServer?.url ?? null,
      close() {
        closed ??= (async () => {
          await consumer.stop();
          await metricsServer?.close();
          await heartbeat.stop();
          await started.stop({ graceful: true });
          await pool.end();
        })();
        return closed;
      },
    };
  } catch (error) {
    await boss?.stop({ graceful: false }).catch(() => {});
    await pool.end().catch(() => {});
    throw error;
  }
}

/** The validators codegen wrote to `dir`, or none (a consumer machine may have no codegen output). */
async function localValidators(dir: string): Promise<Readonly<Record<string, InputValidator>>> {
  const file = generatedModule(resolve(dir), 'validators');
  if (!file) return {};
  const module = (await import(pathToFileURL(file).href)) as { validators: Record<string, InputValidator> };
  return module.validators;
}
