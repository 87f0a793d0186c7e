/** POST /V1/bulk/:uuid/retry (CONTRACT §4): reopen failed operations and enqueue them again. */
import type { Context } from 'koa';
import { E, WebapiError } from '../../errors/catalogue.ts';
import { sendJson } from '../../http/respond.ts';
import { withTransaction } from '../../db/pool.ts';
import { errorLogFields, retriedOnLockConflict } from '../../operations/status.ts';
import * as sql from '../../db/sql/status.ts';
import type { Access } from '../access.ts';
import { lockAndCheck } from '../queries.ts';
import { jsonBody } from '../request.ts';
import type { StatusContext } from '../context.ts';

export async function retryEndpoint(sc: StatusContext, ctx: Context, a: Access, uuid: string): Promise<void> {
  const { log } = sc;
  const input = await jsonBody(ctx, sc.limits.maxBodyBytes);
  const { statuses, errorCodes } = retryInput(input);
  // Rolled back whole by a lock conflict with a consumer's commit: it runs again (as cancel does).
  const reopened = await retriedOnLockConflict(
    () => reopenIn(sc, a, uuid, statuses, errorCodes),
    (error, attempt) =>
      log.warn({ ...errorLogFields(error), bulkUuid: uuid, attempt }, 'retry met a lock conflict; reopened again'),
  );
  log.info({ bulkUuid: uuid, reopened, statuses, errorCodes }, 'bulk operations reopened');
  sendJson(ctx, 200, { bulk_uuid: uuid, reopened });
}

function reopenIn(
  sc: StatusContext,
  a: Access,
  uuid: string,
  statuses: number[],
  errorCodes: number[] | null,
): Promise<number> {
  const { pool, schema } = sc;
  return withTransaction(pool, async (client) => {
    await lockAndCheck(client, schema, a, uuid);
    const { rows } = await client.query<{
      operation_key: number;
      operation_id: string;
      reopened: number;
      has_job: boolean;
    }>(sql.reopenOperations(schema, sc.bossSchema), [uuid, statuses, errorCodes]);
    const jobless = rows.filter((r) => !r.has_job);
    if (jobless.length > 0) {
      // Same transaction: the reopened rows and their new jobs commit together or not at all.
      await sc.enqueue(
        client,
        jobless.map((r) => ({
          entity: sc.entityOf(r.operation_id),
          bulkUuid: uuid,
          key: r.operation_key,
          reopened: r.reopened,
        })),
      );
    }
    return rows.length;
  });
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Retry input: `statuses` (default [2, 3], only 2 and 3) and `errorCodes` (default: any). */
export function retryInput(input: unknown): { statuses: number[]; errorCodes: number[] | null } {
  if (input === null) return { statuses: [2, 3], errorCodes: null };
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new WebapiError(E.FIELD_TYPE_INVALID, { value: JSON.stringify(input), type: 'object' });
  }
  const body = input as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'statuses' && key !== 'errorCodes') throw new WebapiError(E.FIELD_NOT_SUPPORTED, { fieldName: key });
  }
  let statuses = [2, 3];
  if (body.statuses !== undefined) {
    const s = body.statuses;
    if (!Array.isArray(s) || s.length === 0 || !s.every((v) => v === 2 || v === 3)) {
      throw new WebapiError(E.INVALID_STATUS_LIST);
    }
    statuses = [...new Set(s as number[])];
  }
  let errorCodes: number[] | null = null;
  if (body.errorCodes !== undefined && body.errorCodes !== null) {
    const c = body.errorCodes;
    if (!Array.isArray(c) || !c.every((v) => isInt(v) && Math.abs(v) <= 2_147_483_647) || c.length > 1000) {
      throw new WebapiError(E.FIELD_VALUE_INVALID, { value: JSON.stringify(c), fieldName: 'errorCodes' });
    }
    errorCodes = c as number[];
  }
  return { statuses, errorCodes };
}
