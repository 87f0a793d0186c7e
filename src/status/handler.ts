/**
 * The bulk status API (source notes §6, CONTRACT §4, §7) and what we add to it: bulk summary and
 * counts, retry, cancel, long-poll and streamed results. `createStatusHandler` returns the app's
 * `sync` dependency; it answers `false` for paths that are not its own. Each endpoint lives in
 * `endpoints/`, who-sees-what in `access.ts`.
 */
import type { Context } from 'koa';
import type pg from 'pg';
import type { Caller } from '../kernel/caller.ts';
import type { Logger } from '../kernel/logger.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import { bulkFinishedChannel } from '../queue/names.ts';
import { clientFactory, createBulkFinishedListener, type BulkFinishedListener } from './listener.ts';
import { resolveAccess, type IsAllowed } from './access.ts';
import { matchStatusRoute } from './routes.ts';
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

export type SyncHandler = (
  ctx: Context,
  path: string,
  store: StoreScope,
  caller: () => Promise<Caller>,
) => Promise<boolean>;

export interface StatusHandler extends SyncHandler {
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

  const handler = (async (ctx, path, _store, callerFn) => {
    const route = matchStatusRoute(ctx.method, path);
    if (!route) return false;
    // Magento checks the ACL before it looks at the input.
    const a = await resolveAccess(callerFn, options.isAllowed);
    switch (route.kind) {
      case 'search':
        await searchEndpoint(sc, ctx, a);
        break;
      case 'status':
      case 'detailed':
        await bulkStatusEndpoint(sc, ctx, a, route.uuid, route.kind === 'detailed');
        break;
      case 'count':
        await operationCountEndpoint(sc, ctx, a, route.uuid, route.status);
        break;
      case 'results':
        await resultsEndpoint(sc, ctx, a, route.uuid);
        break;
      case 'retry':
        await retryEndpoint(sc, ctx, a, route.uuid);
        break;
      case 'cancel':
        await cancelEndpoint(sc, ctx, a, route.uuid);
        break;
      case 'list':
        await bulkListEndpoint(sc, ctx, a);
        break;
      case 'webhook':
        await webhookEndpoint(sc, ctx, a, route.uuid);
        break;
      case 'queues':
        await queuesEndpoint(sc, ctx, a);
        break;
      case 'listStream':
        await bulkListStreamEndpoint(sc, ctx, a);
        break;
      case 'stream':
        await bulkStreamEndpoint(sc, ctx, a, route.uuid);
        break;
    }
    return true;
  }) as StatusHandler;
  handler.close = async () => {
    if (ownListener && listener) await listener.close();
    listener = ownListener ? null : listener;
  };
  return handler;
}
