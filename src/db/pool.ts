import pg from 'pg';
import type { Logger } from '../kernel/logger.ts';
import { configDefaults, type Config } from '../config.ts';

/** Default for development and CI machines; `DATABASE_URL` overrides. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** The bounds of every connection: config `database`. */
export type ConnectionBounds = Config['database'];

export interface PoolOptions {
  connectionString?: string;
  max?: number;
  applicationName?: string;
  bounds?: Partial<ConnectionBounds>;
  /** Where a lost connection is reported; without one it is dropped silently (one-shot CLI pools). */
  log?: Logger;
}

/**
 * Server options of every connection: no JIT compilation. Our statements are keyed reads and writes
 * of a batch; the planner's cost of one grows with the tables, and past `jit_above_cost` PostgreSQL
 * compiles it before every run. With a million jobs queued, a consumer fetch from an EMPTY queue
 * took 7.5 s, 7.4 of them JIT (Inlining 625 ms, Optimization 4,231 ms, Emission 2,553 ms) for a
 * plan that read 3 buffers: the "3–6 s per fetch at depth" of issue 21.
 */
export const SERVER_OPTIONS = '-c jit=off';

/**
 * pg settings for a connection within `bounds`: a connect (or pool checkout) that waits too long
 * fails instead of queueing forever, a statement that runs too long is canceled by the server, and
 * a transaction left idle (a hung client between statements) is ended by the server, releasing its
 * locks; and no JIT ({@link SERVER_OPTIONS}). Dedicated clients (LISTEN) take the same settings from
 * the pool's options.
 */
export function connectionSettings(bounds: Partial<ConnectionBounds> = {}): pg.PoolConfig {
  const b = { ...configDefaults.database, ...bounds };
  return {
    connectionTimeoutMillis: b.connectTimeoutMs,
    statement_timeout: b.statementTimeoutMs,
    idle_in_transaction_session_timeout: b.idleInTransactionTimeoutMs,
    options: SERVER_OPTIONS,
  };
}

export function createPool(options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString ?? databaseUrl(),
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'magento-async',
    ...connectionSettings(options.bounds),
  });
  // A connection dropping (server restart, pg_terminate_backend) must not crash the process: every
  // client's 'error' event, idle or checked out, would be fatal without a listener (an idle one's is
  // also re-emitted by the pool). pg-pool discards the broken client; the operator still needs to
  // see that connections are being lost, once per connection.
  const application = options.applicationName ?? 'magento-async';
  pool.on('error', () => {});
  pool.on('connect', (client) =>
    client.on('error', (error) =>
      options.log?.warn({ err: error, pool: application }, 'a database connection was lost; the pool replaces it'),
    ),
  );
  return pool;
}

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Runs `fn` in a transaction on its own client; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** A schema's name bare, whether given so or quoted already (pg-boss's schema may come `"pgboss"`). */
export function bareName(name: string): string {
  return name.replace(/^"(.*)"$/, '$1');
}

/** {@link ident} of a schema's name that may come quoted already ({@link bareName}). */
export function schemaIdent(name: string): string {
  return ident(bareName(name));
}

/** Quotes an identifier (schema names come from configuration, never from requests). */
export function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`Invalid database identifier: ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}
