/**
 * Which database a command uses, so that `start`, `serve`, the consumers and every operator command
 * agree. In order:
 *   1. `DATABASE_URL` (or `databaseUrl` in the config file);
 *   2. the database `npm start` runs: `start` writes its connection details to
 *      `<var>/instance.json` (mode 0600; `<var>` is `./var` or `MAGENTO_ASYNC_VAR_DIR`);
 *   3. the local server `postgres://postgres@127.0.0.1:5432/test`.
 * Each command can say which one it took and why (`--verbose`, and the first line of `serve`,
 * `start` and `queue:consumers:start`).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { finished } from 'node:stream';
import type { Config } from '../config.ts';
import pg from 'pg';
import { DEFAULT_DATABASE_URL } from '../db/pool.ts';

export const INSTANCE_FILE = 'instance.json';

export interface InstanceRecord {
  databaseUrl: string;
  /** The HTTP server's URL, once it listens. */
  url?: string;
  pid: number;
  startedAt: string;
}

export interface ResolvedDatabase {
  url: string;
  /** Why this one, for humans: `DATABASE_URL`, `npm start's database (var/instance.json)`, … */
  source: string;
}

export function varDir(env: Record<string, string | undefined> = process.env): string {
  return resolve(env.MAGENTO_ASYNC_VAR_DIR || 'var');
}

export function readInstance(dir: string): InstanceRecord | null {
  try {
    const record = JSON.parse(readFileSync(join(dir, INSTANCE_FILE), 'utf8')) as InstanceRecord;
    return typeof record.databaseUrl === 'string' ? record : null;
  } catch {
    return null;
  }
}

export function writeInstance(dir: string, record: InstanceRecord): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, INSTANCE_FILE);
  // The URL carries the embedded server's password.
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export function removeInstance(dir: string): void {
  rmSync(join(dir, INSTANCE_FILE), { force: true });
}

export function resolveDatabase(
  config: Pick<Config, 'databaseUrl' | 'configFile'>,
  env: Record<string, string | undefined> = process.env,
): ResolvedDatabase {
  if (config.databaseUrl) {
    return {
      url: config.databaseUrl,
      source: env.DATABASE_URL ? 'DATABASE_URL' : `databaseUrl in ${config.configFile}`,
    };
  }
  const dir = varDir(env);
  const instance = readInstance(dir);
  if (instance) return { url: instance.databaseUrl, source: `npm start's database (${join(dir, INSTANCE_FILE)})` };
  return { url: DEFAULT_DATABASE_URL, source: 'the default: no DATABASE_URL and no var/instance.json of npm start' };
}

/** The config with `databaseUrl` filled in as `resolveDatabase` decides, and that decision. */
export function withResolvedDatabase<C extends Config>(
  config: C,
  env: Record<string, string | undefined> = process.env,
): { config: C; database: ResolvedDatabase } {
  const database = resolveDatabase(config, env);
  return { config: { ...config, databaseUrl: database.url }, database };
}

/** `postgres://postgres:***@127.0.0.1:5432/test`: safe to print. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@/]*@/, '$1:***@');
}

export function describeDatabase(database: ResolvedDatabase): string {
  return `Database: ${redactUrl(database.url)} (${database.source})`;
}

/**
 * Connects once with a short timeout so that a wrong URL, a server that is down or refused
 * credentials end a command within seconds with one clear line, instead of pools retrying.
 */
export async function checkDatabase(database: ResolvedDatabase, timeoutMs = 5000): Promise<void> {
  const client = await connectDatabase(database, timeoutMs);
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

/** A connected client, or the one clear line of `checkDatabase` saying why there is none. */
export async function connectDatabase(database: ResolvedDatabase, timeoutMs = 5000): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: database.url,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'magento-async-cli',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    const e = error as { code?: string; message?: string };
    const why =
      e.code === '28P01' || e.code === '28000'
        ? 'it refused the credentials'
        : e.code === '3D000'
          ? 'that database does not exist'
          : e.code === 'ECONNREFUSED'
            ? 'nothing listens there'
            : /timeout/i.test(e.message ?? '')
              ? `no answer within ${timeoutMs / 1000} s`
              : (e.message ?? String(error));
    throw new Error(`Cannot use the database ${redactUrl(database.url)} (${database.source}): ${why}.`, {
      cause: error,
    });
  }
}

/** Set by the global `--verbose` flag (src/cli.ts). */
export function isVerbose(env: Record<string, string | undefined> = process.env): boolean {
  return env.MAGENTO_ASYNC_VERBOSE === '1';
}

/** For operator commands: the resolved database, said on stderr with `--verbose`, checked reachable. */
export async function commandDatabase<C extends Config>(config: C): Promise<{ config: C; database: ResolvedDatabase }> {
  const resolved = withResolvedDatabase(config);
  if (isVerbose()) process.stderr.write(`${describeDatabase(resolved.database)}\n`);
  await checkDatabase(resolved.database);
  return resolved;
}

/** For a command that needs one connection: `commandDatabase` without a separate check. */
export async function commandClient<C extends Config>(
  config: C,
): Promise<{ config: C; database: ResolvedDatabase; client: pg.Client }> {
  const resolved = withResolvedDatabase(config);
  if (isVerbose()) process.stderr.write(`${describeDatabase(resolved.database)}\n`);
  return { ...resolved, client: await connectDatabase(resolved.database) };
}

/**
 * Ends a command's connection once PostgreSQL has been told (Terminate, then the socket's end),
 * without waiting for the server to close its side too, which is what pg's end() resolves on: the
 * backend's exit, a few milliseconds a one-shot command has no use for. The socket then no longer
 * keeps the process alive; pg's end still completes if the process lives on.
 */
export async function endCommandClient(client: pg.Client): Promise<void> {
  const socket = client.connection.stream;
  const ended = client.end().catch(() => {});
  await new Promise<void>((resolve) => finished(socket, { readable: false }, () => resolve()));
  if (socket instanceof Socket) socket.unref();
  else await ended;
}
