/** GET /V1/bulk/:uuid/operation-status/:status (source notes §6): a bare number. */
import type { Context } from 'koa';
import { E, WebapiError } from '../../errors/catalogue.ts';
import { sendJson } from '../../http/respond.ts';
import * as sql from '../../db/sql/status.ts';
import { isUuid } from '../search-criteria.ts';
import { checkBulk, type Access } from '../access.ts';
import { selectOwner } from '../queries.ts';
import type { StatusContext } from '../context.ts';

export async function operationCountEndpoint(
  sc: StatusContext,
  ctx: Context,
  a: Access,
  uuid: string,
  rawStatus: string,
): Promise<void> {
  const { pool, schema } = sc;
  if (!a.all) checkBulk(a, uuid, await selectOwner(pool, schema, uuid));
  if (!/^[1-5]$/.test(rawStatus)) throw new WebapiError(E.INVALID_OPERATION_STATUS);
  // Magento answers 0, not 404, for an unknown bulk.
  if (!isUuid(uuid)) return sendJson(ctx, 200, 0);
  const { rows } = await pool.query<{ n: number }>(sql.countOperationsByStatus(schema), [uuid, Number(rawStatus)]);
  sendJson(ctx, 200, rows[0]!.n);
}
