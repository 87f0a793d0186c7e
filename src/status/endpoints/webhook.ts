/** GET /V1/bulk/:uuid/webhook (beyond Magento): the bulk's completion webhook and every delivery. */
import type { Context } from 'koa';
import { sendJson } from '../../http/respond.ts';
import { selectWebhook } from '../../db/sql/webhooks.ts';
import { checkBulk, type Access } from '../access.ts';
import { selectOwner } from '../queries.ts';
import type { StatusContext } from '../context.ts';

export async function webhookEndpoint(sc: StatusContext, ctx: Context, a: Access, uuid: string): Promise<void> {
  checkBulk(a, uuid, await selectOwner(sc.pool, sc.schema, uuid));
  const { rows } = await sc.pool.query(selectWebhook(sc.schema), [uuid]);
  // A bulk without a webhook answers null: the bulk exists, it has nothing to show.
  sendJson(ctx, 200, rows[0] ?? null);
}
