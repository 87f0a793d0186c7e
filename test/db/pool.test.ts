/** Every pool is bounded: a statement or an idle transaction that runs too long is ended by PostgreSQL, a checkout that waits too long fails. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type pg from 'pg';
import { createPool, databaseUrl } from '../../src/db/pool.ts';
import { loadConfig } from '../../src/config.ts';
import { waitFor } from '../support/wait.ts';

const bounds = { connectTimeoutMs: 300, statementTimeoutMs: 300, idleInTransactionTimeoutMs: 300 };
let pool: ReturnType<typeof createPool>;
before(() => {
  pool = createPool({ connectionString: databaseUrl(), max: 1, bounds });
});
after(() => pool.end());

/**
 * A client of the 300 ms pool. Opening a connection counts against connectTimeoutMs too, and on a
 * loaded machine a new backend can take longer than that: such an attempt is retried (the bound
 * under test is the wait for a busy pool, not how fast PostgreSQL forks).
 */
async function connected(): Promise<pg.PoolClient> {
  return waitFor(() => pool.connect().catch(() => null), 30_000, 'a connection of the 300 ms pool', 0);
}

test('a statement over statementTimeoutMs is canceled (57014)', async () => {
  const client = await connected();
  try {
    await assert.rejects(client.query('SELECT pg_sleep(5)'), (e: unknown) => (e as { code?: string }).code === '57014');
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1, 'the connection still works');
  } finally {
    client.release();
  }
});

test('a transaction left idle past idleInTransactionTimeoutMs is ended by the server', async () => {
  const client = await connected();
  try {
    const ended = once(client, 'error', { signal: AbortSignal.timeout(10_000) });
    await client.query('BEGIN');
    const [error] = (await ended) as [{ code?: string }];
    assert.equal(error.code, '25P03', 'idle_in_transaction_session_timeout');
    await assert.rejects(client.query('SELECT 1'));
  } finally {
    client.release(true);
  }
});

test('no statement is JIT-compiled (at depth the compile dwarfed the statement)', async () => {
  const client = await connected();
  try {
    assert.equal((await client.query('SHOW jit')).rows[0].jit, 'off');
  } finally {
    client.release();
  }
});

test('a checkout waiting past connectTimeoutMs fails instead of queueing forever', async () => {
  // The pool's one connection is checked out: the next checkout can only wait in the queue.
  const held = await connected();
  try {
    await assert.rejects(pool.connect(), /timeout exceeded when trying to connect/i);
  } finally {
    held.release();
  }
});

test('the configuration has the bounds, with defaults', () => {
  assert.deepEqual(loadConfig({ env: {}, cwd: '/nonexistent' }).database, {
    connectTimeoutMs: 10_000,
    statementTimeoutMs: 60_000,
    idleInTransactionTimeoutMs: 120_000,
  });
});

test('a lost idle connection is logged, and the pool carries on', async () => {
  const warnings: { obj: object; msg?: string }[] = [];
  const log = {
    info() {},
    debug() {},
    error() {},
    warn(obj: object | string, msg?: string) {
      warnings.push({ obj: obj as object, msg });
    },
  };
  const watched = createPool({ connectionString: databaseUrl(), max: 1, applicationName: 'pool-log-test', log });
  try {
    const pid = (await watched.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // The client is idle in the pool now; end it from the server side, as a restart would.
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(() => warnings.length > 0, 10_000, 'the warning of the lost connection');
    assert.deepEqual(
      warnings.map((w) => w.msg),
      ['a database connection was lost; the pool replaces it'],
    );
    assert.equal((warnings[0]!.obj as { pool: string }).pool, 'pool-log-test');
    assert.equal((await watched.query('SELECT 1 AS one')).rows[0].one, 1);
  } finally {
    await watched.end();
  }
});
