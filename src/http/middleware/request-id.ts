import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../kernel/logger.ts';

const VALID_ID = /^[\w.\-:]{1,128}$/;

/**
 * Gives every request an id (the caller's `X-Request-Id` when sane, else a new one) that goes on
 * the response, on every log line and on the bulk row, so an operator can follow one request from
 * the access log to the operations it created.
 */
export function requestIdMiddleware(log: Logger) {
  return async function requestId(ctx: Context, next: Next): Promise<void> {
    const given = ctx.get('X-Request-Id');
    const id = VALID_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      log.info(
        {
          requestId: id,
          method: ctx.method,
          url: ctx.originalUrl,
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          bulkUuid: ctx.state.bulkUuid,
        },
        'request',
      );
    }
  };
}
