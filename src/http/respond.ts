import type { Context } from 'koa';
import { phpJsonEncode } from '../accept/php-json.ts';

/**
 * Magento renders every REST response with PHP's json_encode (`/` as `\/`, non-ASCII as `\uXXXX`),
 * so we do too: clients that compare bytes (or hashes of bodies) see what Magento would send.
 */
export function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.set('Content-Type', 'application/json; charset=utf-8');
  ctx.body = phpJsonEncode(body as never);
}
