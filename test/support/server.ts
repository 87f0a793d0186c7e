/**
 * Starts the real server (the same wiring as `serve`) on a random port against a test schema of
 * the real database, with Magento's worked-example crypt key so data_hash values are known.
 */
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.ts';
import { createIntegrationToken } from '../../src/auth/index.ts';
import { createTestDatabase, TEST_CRYPT_KEY, type TestDatabase } from './db.ts';
import { waitFor } from './wait.ts';
import { ident } from '../../src/db/pool.ts';
import { TEST_LOCATIONS, TEST_PROJECT } from './project.ts';

export { TEST_CRYPT_KEY };

export interface TestServer extends RunningServer {
  db: TestDatabase;
  /** A token granted every resource. */
  token: string;
  tokenId: number;
  request(
    method: string,
    path: string,
    init?: { body?: unknown; token?: string | null; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  stop(): Promise<void>;
}

export interface TestResponse {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

/**
 * The configuration of a server or consumer on `db`'s schemas: the suite's own routes and plugins
 * folder, whatever this checkout's working tree holds; the known crypt key; no logs.
 */
export function testConfig(db: TestDatabase, overrides: ConfigOverrides = {}): Config {
  return loadConfig({
    env: { DATABASE_URL: db.url },
    cwd: TEST_PROJECT,
    overrides: {
      ...TEST_LOCATIONS,
      schema: db.schema,
      bossSchema: db.bossSchema,
      cryptKey: TEST_CRYPT_KEY,
      logLevel: 'silent',
      ...overrides,
    },
  });
}

export async function startTestServer(
  name: string,
  overrides: ConfigOverrides = {},
  extra: Partial<ServerOptions> = {},
): Promise<TestServer> {
  const db = await createTestDatabase(name);
  let server: RunningServer | undefined;
  let issued: Awaited<ReturnType<typeof createIntegrationToken>>;
  try {
    const config = testConfig(db, { port: 0, ...overrides });
    server = await startServer({ config, ...extra });
    issued = await createIntegrationToken(db.pool, db.schema, { name: 'test', resources: 'all' });
  } catch (error) {
    // A start that fails (a test of a refused configuration) leaves no server and no schema.
    await server?.close().catch(() => {});
    await db.drop();
    throw error;
  }
  const running = server;
  const request: TestServer['request'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const token = init.token === undefined ? issued.token : init.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const response = await fetch(running.url + path, { method, headers, body });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json, headers: response.headers };
  };
  return {
    ...running,
    db,
    token: issued.token,
    tokenId: issued.id,
    request,
    async stop() {
      await running.close();
      await db.drop();
    },
  };
}

/**
 * Resolves once every stored response under Idempotency-Key `key` is older than `ttlSeconds` by the
 * database's clock (the one the accept and the sweeper read): the key has then expired.
 */
export async function idempotencyKeyExpired(server: TestServer, key: string, ttlSeconds: number): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await server.db.pool.query<{ live: number }>(
        `SELECT count(*)::int AS live FROM ${ident(server.db.schema)}.idempotency_key
         WHERE key = $1 AND created_at >= now() - make_interval(secs => $2)`,
        [key, ttlSeconds],
      );
      return rows[0]!.live === 0;
    },
    ttlSeconds * 1000 + 10_000,
    `Idempotency-Key ${key} to expire`,
  );
}
