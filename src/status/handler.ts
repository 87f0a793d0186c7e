/**
 * The bulk status API (source notes §6, CONTRACT §4, §7) and what we add to it: bulk summary and
 * counts, retry, cancel, long-poll and streamed results. `createStatusHandler` gives the app's
 * `sync` route group: its routes on the app's one router, under `/rest/sync/V<n>` (the path after
 * the store, src/http/rest-front.ts). Each endpoint lives in `endpoints/`, who-sees-what in
 * `access.ts`.
 */
import type { Context, Next } from 'koa';
import type { Router } from '@koa/router';
import type pg from 'pg';
import type { Caller } from '../kernel/caller.ts';
import type { Logger } from '../kernel/logger.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { bulkFinishedChannel } from '../queue/names.ts';
import { clientFactory, createBulkFinishedListener, type BulkFinishedListener } from './listener.ts';
import { resolveAccess, type Access, type IsAllowed } from './access.ts';
import { DEFAULT_LIMITS, type EnqueueFn, type StatusContext, type StatusLimits } from './context.ts';
import { searchEndpoint } from './endpoints/search.ts';
import { bulkStatusEndpoint } from './endpoints/status.ts';
import { operationCountEndpoint } from './endpoints/count.ts';
import { resultsEndpoint } from './endpoints/results.ts';
import { retryEndpoint } from './endpoints/retry.ts';
import { cancelEndpoint } from './endpoints/cancel.ts';
import { bulkListEndpoint } from './endpoints/bulks.ts';
import { webhookEndpoint } from './endpoints/webhook.ts';
import { queuesEndpoint } from './endpoints/queues.ts';
import { bulkListStreamEndpoint, bulkStreamEndpoint } from './endpoints/streams.ts';

export type { EnqueueFn, ReopenedJob, StatusLimits } from './context.ts';

/** Registers routes on the app's router; `authenticated` is the app's auth step (it sets `ctx.state.caller`). */
export type RouteGroup = (router: Router, authenticated: (ctx: Context, next: Next) => Promise<void>) => void;

export interface StatusHandler {
  routes: RouteGroup;
  /** Ends the shared LISTEN connection (server shutdown, tests). */
  close(): Promise<void>;
}

export interface StatusHandlerOptions {
  pool: pg.Pool;
  schema: string;
  /** pg-boss's schema; default `<schema>_boss` (the config's default). */
  bossSchema?: string;
  log: Logger;
  isAllowed: IsAllowed;
  enqueue: EnqueueFn;
  /** The route entity (queue) of an operation, from its operationId (the route table knows). */
  entityOf(operationId: string): string;
  /** Connection settings for the dedicated LISTEN client; defaults to `pool`'s. */
  listenerPool?: pg.Pool;
  /** A listener to share (tests, or several handlers in one process); else one is made lazily. */
  listener?: BulkFinishedListener;
  limits?: Partial<StatusLimits>;
  /** Admission control's place for an event stream (src/http/admission.ts). */
  admitStream?(): () => void;
}

export function createStatusHandler(options: StatusHandlerOptions): StatusHandler {
  const { pool, schema, log } = options;
  let listener = options.listener ?? null;
  const ownListener = !options.listener;
  const sc: StatusContext = {
    pool,
    schema,
    bossSchema: options.bossSchema ?? `${schema}_boss`,
    log,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    enqueue: options.enqueue,
    entityOf: options.entityOf,
    admitStream: options.admitStream,
    listener: () =>
      (listener ??= createBulkFinishedListener({
        connect: clientFactory(options.listenerPool ?? pool),
        channel: bulkFinishedChannel(schema),
        log,
      })),
  };

  type Endpoint = (ctx: Context, a: Access, params: Record<string, string>) => Promise<void>;
  const routes: [method: 'get' | 'post', path: string, endpoint: Endpoint][] = [
    ['get', '/bulk', (ctx, a) => searchEndpoint(sc, ctx, a)],
    ['get', '/bulk/:uuid/status', (ctx, a, p) => bulkStatusEndpoint(sc, ctx, a, p.uuid!, false)],
    ['get', '/bulk/:uuid/detailed-status', (ctx, a, p) => bulkStatusEndpoint(sc, ctx, a, p.uuid!, true)],
    [
      'get',
      '/bulk/:uuid/operation-status/:status',
      (ctx, a, p) => operationCountEndpoint(sc, ctx, a, p.uuid!, p.status!),
    ],
    ['get', '/bulk/:uuid/results.ndjson', (ctx, a, p) => resultsEndpoint(sc, ctx, a, p.uuid!)],
    ['get', '/bulk/:uuid/webhook', (ctx, a, p) => webhookEndpoint(sc, ctx, a, p.uuid!)],
    ['get', '/bulk/:uuid/stream', (ctx, a, p) => bulkStreamEndpoint(sc, ctx, a, p.uuid!)],
    ['post', '/bulk/:uuid/retry', (ctx, a, p) => retryEndpoint(sc, ctx, a, p.uuid!)],
    ['post', '/bulk/:uuid/cancel', (ctx, a, p) => cancelEndpoint(sc, ctx, a, p.uuid!)],
    // Beyond Magento: the dashboard's bulk list, its live version and the queues page.
    ['get', '/bulks', (ctx, a) => bulkListEndpoint(sc, ctx, a)],
    ['get', '/bulks/stream', (ctx, a) => bulkListStreamEndpoint(sc, ctx, a)],
    ['get', '/queues', (ctx, a) => queuesEndpoint(sc, ctx, a)],
  ];
  return {
    routes(router, authenticated) {
      // Any `V<n>`, as Magento's router takes every version a route is declared for.
      const versioned = async (ctx: Context, next: Next) => {
        if (!/^V\d+$/.test((ctx.params as Record<string, string>).version ?? '')) {
          throw new WebapiError(E.ROUTE_NOT_FOUND);
        }
        await next();
      };
      for (const [method, path, endpoint] of routes) {
        router[method](`/rest/sync/:version${path}`, versioned, authenticated, async (ctx) => {
          // Magento checks the ACL before it looks at the input.
          const a = await resolveAccess(async () => ctx.state.caller as Caller, options.isAllowed);
          await endpoint(ctx, a, ctx.params as Record<string, string>);
        });
      }
    },
    async close() {
      if (ownListener && listener) await listener.close();
      listener = ownListener ? null : listener;
    },
  };
}
