/** POST /V1/bulk/:uuid/cancel (CONTRACT §4): open operations become Canceled; running ones finish. */
import type { Context } from 'koa';
import { E, WebapiError } from '../../errors/catalogue.ts';
import { sendJson } from '../../http/respond.ts';
import { withTransaction } from '../../db/pool.ts';
import { cancelOn } from '../../operations/cancel.ts';
import type { Access } from '../access.ts';
import { lockAndCheck } from '../queries.ts';
import { firstKey, jsonBody } from '../request.ts';
import type { StatusContext } from '../context.ts';

export async function cancelEndpoint(sc: StatusContext, ctx: Context, a: Access, uuid: string): Promise<void> {
  const { pool, schema, log } = sc;
  const input = await jsonBody(ctx, sc.limits.maxBodyBytes);
  if (input !== null && (typeof input !== 'object' || Array.isArray(input) || Object.keys(input).length > 0)) {
    throw new WebapiError(E.FIELD_NOT_SUPPORTED, { fieldName: firstKey(input) });
  }
  const canceled = await withTransaction(pool, async (client) => {
    await lockAndCheck(client, schema, a, uuid);
    return cancelOn(client, schema, sc.bossSchema, uuid);
  });
  log.info({ bulkUuid: uuid, canceled }, 'bulk operations canceled');
  sendJson(ctx, 200, { bulk_uuid: uuid, canceled });
}
