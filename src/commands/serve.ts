/** `magento-async serve`: the HTTP server that accepts async and bulk requests. */
import { loadConfig, type Config } from '../config.ts';
import { createLogger, startServer } from '../server.ts';
import { checkDatabase, describeDatabase, withResolvedDatabase } from '../runtime/instance.ts';
import { changedMessage, checkSpec, SpecMismatchError } from '../runtime/spec.ts';

/** Without `--spec`, the generated routes must be the project's spec (src/runtime/spec.ts). */
export function requireCurrentSpec(config: Config): void {
  const spec = checkSpec({ generatedDir: config.generatedDir, configured: config.spec });
  if (spec.state === 'changed') throw new SpecMismatchError(changedMessage(config.generatedDir, spec.record));
}

export async function serve(opts: { port?: number; host: string; spec?: string; token?: string }): Promise<void> {
  const { config, database } = withResolvedDatabase(
    loadConfig({ env: process.env, overrides: opts.port === undefined ? {} : { port: opts.port } }),
  );
  process.stdout.write(`${describeDatabase(database)}\n`);
  if (!opts.spec) requireCurrentSpec(config);
  await checkDatabase(database);
  const log = createLogger(config);
  const server = await startServer({ config, spec: opts.spec, token: opts.token, host: opts.host, log });
  process.stdout.write(
    `magento-async serving ${server.artifacts.routes.length} routes of ${server.artifacts.source} at ${server.url}/rest\n`,
  );
  if (server.dashboardUrl) process.stdout.write(`Dashboard: ${server.dashboardUrl}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: finishing requests in hand');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.close();
}
