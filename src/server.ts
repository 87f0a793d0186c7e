/**
 * `serve`: wires configuration, database, queue and generated artifacts into the Koa app and
 * listens. Also used by tests and `npm start`, which is why it returns a handle instead of blocking.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { PgBoss } from 'pg-boss';
import type { Config } from './config.ts';
import { createPool, databaseUrl, type Pool } from './db/pool.ts';
import { migrate } from './db/migrate.ts';
import { createApp } from './http/app.ts';
import { AcceptCommitter } from './accept/committer.ts';
import { createAccept } from './accept/accept.ts';
import { startIdempotencySweeper } from './accept/idempotency-sweeper.ts';
import { startBulkRetention } from './retention/bulks.ts';
import { Admission } from './http/admission.ts';
import { createBoundedServer } from './http/connections.ts';
import { parseCryptKey } from './accept/crypt-key.ts';
import { storeResolver } from './store/index.ts';
import { authorize, createCallerResolver, createEncryptor, isAllowed, resolveCryptKey } from './auth/index.ts';
import { createAdminTokenEndpoint } from './auth/admin-token-endpoint.ts';
import { createBoss, ensureQueues, queuePolicyFromConfig } from './queue/boss.ts';
import { enqueueOperations } from './queue/enqueue.ts';
import { acceptJobStatements, JobInserts } from './queue/job-insert.ts';
import { loadArtifacts, type Artifacts } from './runtime/artifacts.ts';
import { publishRouteTable } from './runtime/route-tables.ts';
import type { Logger } from './kernel/logger.ts';
import type { Caller } from './kernel/caller.ts';
import { createStatusHandler } from './status/handler.ts';
import { createLogger } from './runtime/logger.ts';
import type { Clock } from './kernel/clock.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { metricsRoute } from './metrics/http.ts';
import { createDashboard } from './admin/serve.ts';
import { announceRelaxations, integrationAsBearer } from './runtime/relaxations.ts';
import { startWebhookSender, type WebhookSender } from './webhooks/sender.ts';
import { callbackUrlFor, checkIntegrationUrls } from './webhooks/register.ts';
import { configuredPlugins, loadPlugins, runInstalls, type LoadOptions } from './plugins/loader.ts';
import { itemDependencies } from './plugins/item-dependencies.ts';
import { withDependencies } from './runtime/schema-dependencies.ts';
import { orderRules, saveOrderRules } from './operations/order-keys.ts';
import { createRequestChecks } from './plugins/checks.ts';

// Where a caller of startServer has always found it; its own module so a consumer need not load this one.
export { createLogger };

export interface ServerOptions {
  config: Config;
  /** Serve another spec's routes (generated at start into var/cache). */
  spec?: string;
  token?: string;
  /** Already loaded artifacts (tests); otherwise loaded from config/spec. */
  artifacts?: Artifacts;
  log?: Logger;
  /** Benchmark baseline: accepts write their jobs with boss.insert in BEGIN … COMMIT, not in one statement. */
  separateJobInsert?: boolean;
  /** Plugin modules already in memory, loaded after the configured ones (the test kit), for their checks. */
  plugins?: LoadOptions['modules'];
  /** Where `pluginPackages` are installed; default the working directory. */
  projectDir?: string;
  /** Test hook forwarded to the accept transaction (fault injection). */
  beforeCommit?: ConstructorParameters<typeof AcceptCommitter>[0]['beforeCommit'];
  host?: string;
  /** The server's clock: it stamps bulks' start_time and retention measures ages by it (tests set it). Default: the system's. */
  now?: Clock;
}

export interface RunningServer {
  url: string;
  server: Server;
  pool: Pool;
  boss: PgBoss;
  artifacts: Artifacts;
  metrics: Metrics;
  /** The dashboard's URL, when it is enabled. */
  dashboardUrl: string | null;
  /** The completion webhook sender, when webhooks are enabled (a secret is configured). */
  webhooks: WebhookSender | null;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  const log = options.log ?? createLogger(config);
  const url = config.databaseUrl ?? databaseUrl();
  const pool = createPool({
    connectionString: url,
    max: 20,
    applicationName: 'magento-async:serve',
    bounds: config.database,
    log,
  });
  // Whatever started before a failure (a taken port, say) is stopped, so the process can exit.
  const undo: (() => Promise<unknown>)[] = [];
  announceRelaxations(config, log);
  try {
    checkIntegrationUrls(config.webhooks);
    await migrate(pool, config.schema);
    const artifacts =
      options.artifacts ??
      (await loadArtifacts({ spec: options.spec, token: options.token, generatedDir: config.generatedDir }));
    // Consumers on this database run what this server accepts (src/runtime/route-tables.ts).
    await publishRouteTable(pool, config.schema, artifacts.routes, artifacts.source);
    const cryptKeyText = await resolveCryptKey(pool, config.schema, config, url, log);
    const cryptKey = parseCryptKey(cryptKeyText);
    const boss = await createBoss({
      connectionString: url,
      schema: config.bossSchema,
      supervise: false,
      bounds: config.database,
      log,
    });
    undo.push(() => boss.stop({ graceful: false }));
    await ensureQueues(boss, new Set(artifacts.routes.map((r) => r.entity)), queuePolicyFromConfig(config.consumer));
    const stores = storeResolver(pool, config.schema);
    const callers = createCallerResolver(pool, config.schema, {
      encryptor: createEncryptor(cryptKeyText),
      integrationAsBearer: integrationAsBearer(config),
      timestampWindowSeconds: config.oauth.timestampWindowSeconds,
    });
    const entityOf = new Map(artifacts.routes.map((r) => [r.operationId, r.entity]));
    const committer = new AcceptCommitter({
      pool,
      schema: config.schema,
      enqueue: (client, jobs) => enqueueOperations(client, boss, jobs),
      jobStatements: options.separateJobInsert
        ? undefined
        : acceptJobStatements(new JobInserts(boss, config.bossSchema)),
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      groupCommit: config.groupCommit,
      maxConcurrentGroups: config.acceptTransactions,
      beforeCommit: options.beforeCommit,
      clock: options.now,
    });
    const metrics = createMetrics({ pool, schema: config.schema, bossSchema: config.bossSchema });
    const admission = new Admission({
      maxConcurrent: config.maxConcurrentAccepts,
      maxBytes: config.maxAcceptBytesInFlight,
      maxStreams: config.maxConcurrentStreams,
      retryAfterSeconds: config.busyRetryAfterSeconds,
    });
    const status = createStatusHandler({
      pool,
      schema: config.schema,
      bossSchema: config.bossSchema,
      log,
      isAllowed: (caller: Caller, resource: string) => isAllowed(caller, [resource]),
      enqueue: (client, jobs) => enqueueOperations(client, boss, jobs),
      entityOf: (operationId) => entityOf.get(operationId) ?? 'unknown',
      limits: { maxPageSize: config.statusPageSizeMax },
      admitStream: () => admission.openStream(),
    });
    undo.push(() => status.close());
    // The plugins, loaded as a consumer loads them (a plugin that cannot load stops serve as it
    // stops a consumer), and their migrations applied: a validate-only request's checks read their
    // tables before any consumer ran, and accept refuses a bulk whose operations' `requires` wait
    // for each other in a cycle.
    const registry = await loadPlugins(
      configuredPlugins(config, artifacts.routes, { modules: options.plugins, projectDir: options.projectDir }),
    );
    await runInstalls(pool, config.schema, registry.installs);
    // The entity-key rules, as a consumer saves them at its start: with them stored, accept keys
    // each operation as it inserts it (the triggers of 011_lifecycle.sql), so a backlog accepted
    // before any consumer ran is not keyed all at once when the first one starts (bench:depth
    // --ops 300000: 43 s of that consumer's start, before it fetched anything).
    await saveOrderRules(pool, config.schema, orderRules(artifacts.routes, registry.orderKeys));
    const accept = createAccept({
      pool,
      schema: config.schema,
      validators: artifacts.validators,
      committer,
      cryptKey,
      limits: {
        maxBulkItems: config.maxBulkItems,
        maxJsonDepth: config.maxJsonDepth,
        partialAccept: config.partialAccept,
        idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      },
      dependencies: itemDependencies(registry, artifacts.routes, artifacts.validators),
      checks: createRequestChecks({
        pool,
        schema: config.schema,
        registry,
        validators: artifacts.validators,
        timeoutMs: config.validateTimeoutMs,
        log,
      }),
      onValidated: (e) => metrics.validated(e),
    });
    const stopSweeper = startIdempotencySweeper({
      pool,
      schema: config.schema,
      ttlSeconds: config.idempotencyTtlSeconds,
      intervalSeconds: config.idempotencySweepSeconds,
      log,
    });
    undo.push(() => stopSweeper());
    const { bulkDays, sweepSeconds, batchOperations } = config.retention;
    const stopRetention =
      bulkDays === null
        ? async () => {}
        : startBulkRetention({
            pool,
            boss,
            schema: config.schema,
            bossSchema: config.bossSchema,
            bulkDays,
            batchOperations,
            intervalSeconds: sweepSeconds,
            log,
            now: options.now,
          });
    undo.push(() => stopRetention());
    const dashboard = config.dashboard.enabled ? createDashboard(config.dashboard.path) : null;
    const app = createApp({
      pool,
      schema: config.schema,
      log,
      routes: artifacts.routes,
      accept,
      admission,
      resolveStore: (path) => stores.resolve(path),
      authenticate: (req) => callers.resolveHttp(req),
      authorize,
      adminToken: createAdminTokenEndpoint(pool, config.schema, {
        lifetimeHours: config.oauth.adminTokenLifetimeHours,
        maxFailures: config.oauth.adminMaxFailures,
        lockSeconds: config.oauth.adminLockSeconds,
      }),
      schemas: withDependencies(artifacts.schemas, artifacts.routes, registry),
      sync: status.routes,
      metrics: config.metrics.enabled ? metricsRoute(metrics, config.metrics) : undefined,
      dashboard: dashboard ?? undefined,
      onResponse: (kind, code, seconds) => metrics.request(kind, code, seconds),
      limits: { maxBodyBytes: config.maxBodyBytes },
      developerMode: config.mode === 'developer',
      onAccepted: (e) => metrics.accepted(e),
      callbackUrl: (header, caller) => callbackUrlFor(config.webhooks, header, caller.tokenName),
    });
    // Every request, /metrics and the dashboard included, goes through the Koa app and its router.
    const server = createBoundedServer(app.callback(), {
      requestTimeoutSeconds: config.requestTimeoutSeconds,
      log,
    });
    server.listen(config.port, options.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(
                `Port ${config.port} on ${options.host ?? '127.0.0.1'} is in use: choose another with --port or PORT.`,
              )
            : error,
        ),
      );
    });
    const address = server.address() as AddressInfo;
    const serverUrl = `http://${address.address}:${address.port}`;
    const dashboardUrl = dashboard ? serverUrl + config.dashboard.path : null;
    log.info(
      { url: serverUrl, routes: artifacts.routes.length, spec: artifacts.specInfo.file, dashboard: dashboardUrl },
      'serving',
    );
    const webhooks =
      config.webhooks.secret === null
        ? null
        : startWebhookSender({
            pool,
            schema: config.schema,
            log,
            config: config.webhooks,
            onDelivery: (outcome) => metrics.webhook(outcome),
          });
    return {
      url: serverUrl,
      server,
      pool,
      boss,
      artifacts,
      metrics,
      dashboardUrl,
      webhooks,
      async close() {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await stopSweeper();
        await stopRetention();
        await webhooks?.stop();
        await committer.drain();
        await status.close();
        await boss.stop({ graceful: true });
        await pool.end();
      },
    };
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => {});
    await pool.end().catch(() => {});
    throw error;
  }
}
