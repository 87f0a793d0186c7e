/**
 * Renders every failure in Magento's format (CONTRACT §8). Client errors come from the catalogue;
 * anything else becomes a 500 with a report id, logged with its cause under that id. No stack
 * trace, SQL text or Node message ever reaches the client (developer mode adds `trace`).
 */
import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import { E, WebapiError, errorBody } from '../../errors/catalogue.ts';
import { sendJson } from '../respond.ts';
import type { Logger } from '../../kernel/logger.ts';

export function errorMiddleware(log: Logger, developerMode: boolean) {
  return async function renderErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      if (error instanceof WebapiError) {
        // Bounds on work in flight say when to come back (RFC 9110 §10.2.3).
        const retryAfter = (error.parameters as { retryAfter?: unknown } | undefined)?.retryAfter;
        if (error.status === 503 && typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter));
        sendJson(ctx, error.status, errorBody(error));
        return;
      }
      const reportId = randomBytes(8).toString('hex');
      log.error(
        { err: error, reportId, requestId: ctx.state.requestId, method: ctx.method, url: ctx.originalUrl },
        'request failed',
      );
      const internal = new WebapiError(E.INTERNAL, [reportId], { cause: error });
      const body = errorBody(internal);
      if (developerMode && error instanceof Error) body.trace = error.stack ?? String(error);
      sendJson(ctx, 500, body);
    }
  };
}
