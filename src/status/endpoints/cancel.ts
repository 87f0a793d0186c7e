/** POST /V1/bulk/:uuid/cancel (CONTRACT §4): open operations become Canceled; running ones finish. */
import type { Context } from 'koa';
import { E, WebapiError } from '../../errors/catalogue.ts';
import { sendJson } from '../../http/respond.ts';
import { withTransaction } from '../../db/pool.ts';
import { cancelOn } from '../../operations/cancel.ts';
import { errorLogFields, retriedOnLockConflict } from '../../operations/status.ts';
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
  // A consumer committing outcomes of this bulk locks its operations and jobs in its statement's
  // order, which may cross ours: a deadlock that picks this transaction rolls it back whole, and
  // it runs again (test/operations/cancel-race.test.ts).
  const canceled = await retriedOnLockConflict(
    () =>
      withTransaction(pool, async (client) => {
        await lockAndCheck(client, schema, a, uuid);
        return cancelOn(client, schema, sc.bossSchema, uuid);
      }),
    (error, attempt) =>
      log.warn({ ...errorLogFields(error), bulkUuid: uuid, attempt }, 'cancel met a lock conflict; canceled again'),
  );
  log.info({ bulkUuid: uuid, canceled }, 'bulk operations canceled');
  sendJson(ctx, 200, { bulk_uuid: uuid, canceled });
}
