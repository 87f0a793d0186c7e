/** GET /V1/bulk?searchCriteria=... (source notes §6): operations across bulks, Magento's search shape. */
import type { Context } from 'koa';
import { sendJson } from '../../http/respond.ts';
import * as sql from '../../db/sql/status.ts';
import {
  compileOrderBy,
  compileWhere,
  echoSearchCriteria,
  parseQueryString,
  parseSearchCriteria,
} from '../search-criteria.ts';
import type { Access } from '../access.ts';
import type { StatusContext } from '../context.ts';

export async function searchEndpoint(sc: StatusContext, ctx: Context, a: Access): Promise<void> {
  const { pool, schema } = sc;
  const criteria = parseSearchCriteria(parseQueryString(ctx.querystring), sc.limits);
  const where = compileWhere(criteria, a.all ? null : a.caller);
  const values = where.values;
  const { rows: total } = await pool.query<{ n: number }>(sql.countSearchOperations(schema, where.sql), values);
  const offset = ((criteria.currentPage ?? 1) - 1) * criteria.pageSize;
  const text = sql.searchOperations(schema, where.sql, compileOrderBy(criteria), values.length + 1, values.length + 2);
  const { rows } = await pool.query<Record<string, unknown>>(text, [...values, criteria.pageSize, offset]);
  const items = rows.map((r) => ({
    // OperationInterface reflection order: its own getExtensionAttributes first (source notes §6).
    extension_attributes: { start_time: r.start_time },
    id: r.id,
    bulk_uuid: r.bulk_uuid,
    topic_name: r.topic_name,
    serialized_data: r.serialized_data,
    result_serialized_data: r.result_serialized_data,
    status: r.status,
    result_message: r.result_message,
    error_code: r.error_code,
  }));
  sendJson(ctx, 200, { items, search_criteria: echoSearchCriteria(criteria), total_count: total[0]!.n });
}
