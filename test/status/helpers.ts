/**
 * Shared set-up of the status tests: a tiny Koa app around the status routes (the app's error
 * middleware, Magento's routing path for sync requests, the routes on a router, 404 otherwise) on
 * 127.0.0.1:0, wired as `serve` wires them: callers resolved from their bearer tokens by the real
 * auth step, the real ACL check, and reopened operations enqueued on the real pg-boss queue. The
 * bulks it reads are accepted and processed for real (test/support/drive.ts).
 */
import { bossSchemaFor } from '../../src/queue/boss.ts';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { PgBoss } from 'pg-boss';
import { routingPath } from '../../src/http/rest-front.ts';
import { errorMiddleware } from '../../src/http/middleware/errors.ts';
import type { Logger } from '../../src/plugin.ts';
import type { Pool } from '../../src/db/pool.ts';
import { createAdminToken, createAdminUser } from '../../src/auth/admin.ts';
import { createCallerResolver, createEncryptor, createIntegrationToken, isAllowed } from '../../src/auth/index.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import { createStatusHandler, type StatusHandler, type StatusHandlerOptions } from '../../src/status/handler.ts';
import { TEST_CRYPT_KEY } from '../support/db.ts';

export const silentLog: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** Who sends the next requests: a bearer token, or none (a guest). */
export interface Caller {
  token: string | null;
  userType: number;
  userId: number;
}

export const GUEST: Caller = { token: null, userType: 4, userId: 0 };

/**
 * The callers of the status tests, each signed in for real: an admin with every resource (as
 * Magento's fixtures, admin user 1 owns their bulks), an integration without the bulk-operations
 * resource (it sees only its own bulks) and an admin without it whose user id is that
 * integration's: same id, other user type, not the owner.
 */
export interface Callers {
  admin: Caller;
  owner: Caller;
  other: Caller;
}

export async function signIn(pool: Pool, schema: string): Promise<Callers> {
  const password = 'secret-123';
  const admin = await createAdminUser(pool, schema, { username: 'admin', password, resources: 'all' });
  const clerk = await createAdminUser(pool, schema, {
    username: 'clerk',
    password,
    resources: ['Magento_Cart::manage'],
  });
  // Token ids count from 1 as admin ids do: the second token is the clerk's id.
  await createIntegrationToken(pool, schema, { name: 'first', resources: ['Magento_Cart::manage'] });
  const owner = await createIntegrationToken(pool, schema, { name: 'owner', resources: ['Magento_Cart::manage'] });
  if (owner.id !== clerk.id) throw new Error(`the owner (${owner.id}) and the clerk (${clerk.id}) must share an id`);
  return {
    admin: { token: (await createAdminToken(pool, schema, 'admin', password)).token, userType: 2, userId: admin.id },
    owner: { token: owner.token, userType: 1, userId: owner.id },
    other: { token: (await createAdminToken(pool, schema, 'clerk', password)).token, userType: 2, userId: clerk.id },
  };
}

export interface Harness {
  url: string;
  handler: StatusHandler;
  /** The caller of the next requests. */
  as(caller: Caller): void;
  /** Headers of the current caller. */
  headers(): Record<string, string>;
  /**
   * Make the next enqueue fail before it writes (a queue fault, to prove the retry transaction
   * rolls back the reopening).
   */
  failNextEnqueue(): void;
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<StatusHandlerOptions> {
  /** Where reopened operations are enqueued: the queues the drivers' consumers read (none: no retries). */
  boss?: PgBoss;
  /** The entity (queue) of each operationId, as the route table gives it. */
  entities?: Record<string, string>;
}

export async function startHarness(pool: Pool, schema: string, options: HarnessOptions = {}): Promise<Harness> {
  const { boss, entities, ...extra } = options;
  let caller: Caller = GUEST;
  let fail = false;
  const callers = createCallerResolver(pool, schema, { encryptor: createEncryptor(TEST_CRYPT_KEY) });
  const handler = createStatusHandler({
    pool,
    schema,
    log: silentLog,
    isAllowed: (c, resource) => isAllowed(c, [resource]),
    entityOf: (operationId) => entities?.[operationId] ?? 'unknown',
    // Cancel and the retry API look at the operations' jobs (held? has one?) in pg-boss's schema.
    ...(boss ? { bossSchema: bossSchemaFor(boss) } : {}),
    async enqueue(client, jobs) {
      if (fail) {
        fail = false;
        throw new Error('enqueue failed');
      }
      if (!boss) throw new Error('this harness has no queue');
      await enqueueOperations(client, boss, jobs);
    },
    ...extra,
  });
  const app = new Koa();
  app.silent = true;
  app.use(errorMiddleware(silentLog, false));
  app.use(async (ctx, next) => {
    ctx.path = routingPath('sync', ctx.path);
    await next();
  });
  const router = new Router({ sensitive: true, strict: false });
  handler.routes(router, async (ctx, next) => {
    ctx.state.caller = await callers.resolveHttp(ctx.req);
    await next();
  });
  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const headers = (): Record<string, string> => (caller.token ? { Authorization: `Bearer ${caller.token}` } : {});
  return {
    url: `http://127.0.0.1:${port}`,
    handler,
    as(c) {
      caller = c;
    },
    headers,
    failNextEnqueue() {
      fail = true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await handler.close();
    },
  };
}

export async function get(
  h: Harness,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(h.url + path, { ...init, headers: { ...h.headers(), ...(init.headers as object) } });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

export async function post(h: Harness, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(h.url + path, {
    method: 'POST',
    headers: { ...h.headers(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}
