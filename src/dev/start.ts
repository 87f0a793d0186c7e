/**
 * `npm start` (`magento-async start`): the zero-setup demo. In one process it
 *   1. uses `DATABASE_URL` (or the config file's `databaseUrl`) when set, else starts the embedded
 *      PostgreSQL in `<var>/postgres` (`<var>` is `./var`, or env `MAGENTO_ASYNC_VAR_DIR`), and
 *      records the connection in `<var>/instance.json` so every other command reaches it;
 *   2. runs the spec codegen recorded (src/runtime/spec.ts): regenerates `src/generated/` when
 *      that same file changed, and refuses when the configuration names another spec;
 *   3. runs the server (PORT, default 8080; a free port when that one is taken) and one consumer
 *      (`async.operations.all`, following the route tables servers register);
 *   4. reuses the development token in `<var>/dev-token` (0600) while it still authenticates, else
 *      issues a new one (every resource);
 *   5. prints the URL, the token and ready `curl` commands for the seed's example.
 * SIGINT/SIGTERM stop the consumer (operations in hand finish), the server, then the database.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { loadConfig, type Config } from '../config.ts';
import { demoExamples } from '../plugins/examples.ts';
import { frameworkFolder } from '../kernel/package.ts';
import { createLogger, startServer, type RunningServer } from '../server.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import {
  checkDatabase,
  describeDatabase,
  INSTANCE_FILE,
  redactUrl,
  resolveDatabase,
  varDir as varDirOf,
  writeInstance,
} from '../runtime/instance.ts';
import { checkSpec } from '../runtime/spec.ts';
import {
  ALL_RESOURCES,
  GUEST,
  createAuthenticator,
  createIntegrationToken,
  ensureInstanceKeyFile,
} from '../auth/index.ts';
import { createPool, type Pool } from '../db/pool.ts';
import type { Logger } from '../kernel/logger.ts';
import type { ConsumerHandle } from '../consumer/consumer.ts';

export const EXAMPLE_SKU = '24-MB01';
export const DEV_TOKEN_NAME = 'development (npm start)';

export interface StartDevOptions {
  env?: Record<string, string | undefined>;
  /** Human output (stdout by default). */
  out?: (line: string) => void;
  /** Resolves when the process should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
}

/**
 * The recorded spec, regenerated when that same file changed since codegen (said on `out`); a
 * configured spec that is not the recorded one is an error naming both. True when it regenerated.
 */
export async function regenerateIfChanged(config: Config, out: (line: string) => void): Promise<boolean> {
  const spec = checkSpec({ generatedDir: config.generatedDir, configured: config.spec });
  if (spec.state === 'current') return false;
  out(`${spec.record.source} changed since the last codegen: regenerating ${config.generatedDir}/ from it`);
  const { runCodegen } = await import('../../codegen/index.ts');
  await runCodegen({
    spec: spec.path,
    out: resolve(config.generatedDir),
    // This checkout's plugins/ is the framework's (the built-in plugin): its sample gets no stubs.
    plugins: frameworkFolder(config.pluginsDir) === 'plugins' ? false : config.pluginsDir,
    examples: config.plugins.examples ?? [],
    pluginPackages: config.pluginPackages,
  });
  return true;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => done(true)));
  });
}

/** The token in `file` when it still authenticates with every resource, else a new one saved there. */
export async function developmentToken(
  pool: Pool,
  schema: string,
  file: string,
): Promise<{ token: string; reused: boolean }> {
  if (existsSync(file)) {
    const saved = readFileSync(file, 'utf8').trim();
    if (saved !== '') {
      const caller = await createAuthenticator(pool, schema, { ttlMs: 0 }).authenticate(`Bearer ${saved}`);
      if (caller !== GUEST && caller.resources === ALL_RESOURCES) return { token: saved, reused: true };
    }
  }
  const { token } = await createIntegrationToken(pool, schema, { name: DEV_TOKEN_NAME, resources: ALL_RESOURCES });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, reused: false };
}

async function startConsumerIn(
  config: Config,
  log: Logger,
  server: RunningServer,
): Promise<{ consumer: ConsumerHandle; close(): Promise<void> }> {
  const { localRoutes } = await import('../commands/consumers.ts');
  const { startFollowingConsumer } = await import('../runtime/following-consumer.ts');
  return startFollowingConsumer({
    config,
    name: 'async.operations.all',
    log,
    localRoutes: await localRoutes(config),
    // The consumer stops before the server (stops run in reverse), so the server's pool outlives
    // its route-table checks: one connection fewer than a pool of their own.
    pool: server.pool,
  });
}

function signalled(): { promise: Promise<string>; dispose(): void } {
  let dispose = () => {};
  const promise = new Promise<string>((resolvePromise) => {
    const on = (signal: string) => resolvePromise(signal);
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    dispose = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  });
  return { promise, dispose };
}

/** Runs the demo until SIGINT/SIGTERM (or `until`); resolves once everything has stopped. */
export async function startDev(options: StartDevOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const began = Date.now();
  // Signals that arrive during start-up are honoured once the pieces started so far can be stopped.
  const signal = options.until ? { promise: options.until, dispose() {} } : signalled();

  let config = demoExamples(loadConfig({ env }));
  if (!env.LOG_LEVEL && config.configFile === null) config = { ...config, logLevel: 'warn' };
  // The demo shows the dashboard unless told not to (production keeps it off unless configured on).
  if (!env.MAGENTO_ASYNC_DASHBOARD && config.configFile === null) {
    config = { ...config, dashboard: { ...config.dashboard, enabled: true } };
  }
  // The demo listens on 127.0.0.1 with nothing in front: Prometheus there scrapes without a token.
  if (config.configFile === null) config = { ...config, metrics: { ...config.metrics, loopbackOnly: true } };
  const log = createLogger(config);
  const varDir = varDirOf(env);
  mkdirSync(varDir, { recursive: true });

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        log.error({ err: error }, 'error while stopping');
      }
    }
  };

  let interrupted = false;
  void signal.promise.then(() => (interrupted = true));
  try {
    // Before anything starts: a spec conflict is one line and exit 1, with nothing to stop.
    await regenerateIfChanged(config, out);
    let embedded: EmbeddedPostgres | undefined;
    if (config.databaseUrl) {
      const database = resolveDatabase(config, env);
      out(describeDatabase(database));
      await checkDatabase(database);
    } else {
      embedded = await startEmbeddedPostgres({ dataDir: join(varDir, 'postgres'), log: (m) => out(m) });
      stops.push(() => embedded!.stop());
      config = { ...config, databaseUrl: embedded.url };
      out(
        `Database: embedded PostgreSQL in ${embedded.dataDir}, ${redactUrl(embedded.url)} (the password is in ${join(varDir, INSTANCE_FILE)}; set DATABASE_URL to use your own server)`,
      );
    }
    // Every other command (bulk:status, store:create, …) finds this database through this record.
    writeInstance(varDir, { databaseUrl: config.databaseUrl!, pid: process.pid, startedAt: new Date().toISOString() });
    if (!config.cryptKey && !config.cryptKeyFile) {
      // The demo's key lives beside its database's record, not in the database (src/auth/crypt-key.ts).
      const pool = createPool({
        connectionString: config.databaseUrl!,
        max: 1,
        applicationName: 'magento-async:start',
      });
      try {
        config = { ...config, cryptKeyFile: await ensureInstanceKeyFile(varDir, pool, config.schema) };
      } finally {
        await pool.end();
      }
    }
    if (interrupted) return;

    if (config.port !== 0 && !(await portIsFree(config.port))) {
      out(`Port ${config.port} is in use: using a free port instead (set PORT to choose one).`);
      config = { ...config, port: 0 };
    }
    const server: RunningServer = await startServer({ config, log });
    stops.push(() => server.close());
    if (interrupted) return;

    const consumer = await startConsumerIn(config, log, server);
    stops.push(() => consumer.close());
    if (interrupted) return;

    const { token, reused } = await developmentToken(server.pool, config.schema, join(varDir, 'dev-token'));
    const url = server.url;
    writeInstance(varDir, {
      databaseUrl: config.databaseUrl!,
      url,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    });
    out('');
    out(
      `magento-async is running at ${url} (${server.artifacts.routes.length} routes; consumer async.operations.all) — ready in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
    out(`Token (${reused ? 'reused from' : 'saved in'} ${join(varDir, 'dev-token')}): ${token}`);
    out('');
    out('Try the seed example:');
    out(
      `  curl -X PUT ${url}/rest/default/async/V1/products/${EXAMPLE_SKU} -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' -d '{"product":{"price":29}}'`,
    );
    out('then follow it with the bulk_uuid from the answer:');
    out(`  curl ${url}/rest/V1/bulk/<bulk_uuid>/status -H 'Authorization: Bearer ${token}'`);
    if (server.dashboardUrl) out(`Dashboard: ${server.dashboardUrl} (sign in with the token above)`);
    const examples = config.plugins.examples ?? [];
    out(
      examples.length
        ? `Example plugins: ${examples.join(', ')} (local tables; set plugins.examples to choose, [] for none)`
        : 'Example plugins: none',
    );
    out('');
    out('Ctrl-C stops the consumer, the server and the database.');

    const reason = await Promise.race([signal.promise, consumer.consumer.done.then(() => 'consumer stopped')]);
    out(`Stopping (${String(reason)})…`);
  } finally {
    await stopAll();
    signal.dispose();
  }
  out('Stopped.');
}
