/**
 * Server-sent events for the dashboard's live views: `read()` runs every `intervalMs`, and its
 * answer is sent as an event whenever it differs from the last one sent. A stream ends after
 * `maxSeconds` (the client reconnects, so a stream never outlives a revoked token by long), when
 * `done(value)` says so, or when the client goes away. Read with `fetch` rather than EventSource:
 * the token travels in the Authorization header, never in a URL.
 */
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { Logger } from '../kernel/logger.ts';

export interface SseOptions {
  intervalMs: number;
  maxSeconds: number;
  /** A comment line this often keeps proxies from closing an idle stream. */
  keepAliveMs?: number;
  done?(value: unknown): boolean;
  log: Logger;
  /** Takes a place for the stream (admission control), throwing while none is free; returns its release. */
  admit?(): () => void;
}

export function streamChanges(ctx: Context, read: () => Promise<unknown>, options: SseOptions): void {
  const release = options.admit?.() ?? (() => {});
  const out = new PassThrough();
  ctx.status = 200;
  ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Accel-Buffering', 'no');
  ctx.body = out;

  const deadline = Date.now() + options.maxSeconds * 1000;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    release();
    out.end();
  };
  ctx.req.once('close', close);
  ctx.res.once('close', close);

  let last: string | null = null;
  let wroteAt = Date.now();
  const tick = async () => {
    if (closed) return;
    try {
      const value = await read();
      const text = JSON.stringify(value);
      if (closed) return;
      if (text !== last) {
        last = text;
        out.write(`data: ${text}\n\n`);
        wroteAt = Date.now();
      } else if (Date.now() - wroteAt >= keepAliveMs) {
        out.write(': keep-alive\n\n');
        wroteAt = Date.now();
      }
      if (options.done?.(value) || Date.now() >= deadline) return close();
    } catch (error) {
      // Headers are gone already: the stream just ends, and the client reconnects.
      options.log.warn({ err: error }, 'event stream read failed');
      return close();
    }
    timer = setTimeout(() => void tick(), options.intervalMs);
  };
  void tick();
}
