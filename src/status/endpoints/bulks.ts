/**
 * GET /V1/bulks (beyond Magento, the dashboard's list): bulks newest first with their summary, by
 * status, user, date and text. The bulk status is computed by summary.ts (the one definition of
 * "finished"), so the status filter applies after the read: the read takes the newest
 * `BULK_LIST_SCAN` bulks that match the other filters, and `total_count` says how many of those match.
 */
import type { Context } from 'koa';
import { E, WebapiError } from '../../errors/catalogue.ts';
import { sendJson } from '../../http/respond.ts';
import { listBulks } from '../../db/sql/dashboard.ts';
import type { BulkSummaryRow } from '../../db/sql/status.ts';
import { bulkStatus, operationCounts } from '../summary.ts';
import { parseQueryString, type QueryTree } from '../search-criteria.ts';
import type { Access } from '../access.ts';
import type { StatusContext } from '../context.ts';

export const BULK_LIST_SCAN = 1000;

const DATE = /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/;

export interface BulkListQuery {
  status: number[] | null;
  userType: number | null;
  userId: number | null;
  from: string | null;
  to: string | null;
  text: string | null;
  page: number;
  pageSize: number;
}

function one(query: QueryTree, name: string): string | null {
  const raw = query[name];
  if (raw === undefined || raw === '') return null;
  if (typeof raw !== 'string') throw new WebapiError(E.FIELD_VALUE_INVALID, { value: 'array', fieldName: name });
  return raw;
}

function integer(query: QueryTree, name: string, min: number, max: number): number | null {
  const raw = one(query, name);
  if (raw === null) return null;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new WebapiError(E.FIELD_VALUE_INVALID, { value: raw, fieldName: name });
  }
  return Number(raw);
}

export function parseBulkListQuery(query: QueryTree, maxPageSize: number): BulkListQuery {
  for (const key of Object.keys(query)) {
    if (!['status', 'user_type', 'user_id', 'from', 'to', 'q', 'page', 'pageSize'].includes(key)) {
      throw new WebapiError(E.FIELD_NOT_SUPPORTED, { fieldName: key });
    }
  }
  const statusRaw = one(query, 'status');
  let status: number[] | null = null;
  if (statusRaw !== null) {
    status = statusRaw.split(',').map((s) => Number(s.trim()));
    if (!status.every((s) => Number.isInteger(s) && s >= 0 && s <= 3)) {
      throw new WebapiError(E.FIELD_VALUE_INVALID, { value: statusRaw, fieldName: 'status' });
    }
  }
  const date = (name: string) => {
    const raw = one(query, name);
    if (raw !== null && (!DATE.test(raw) || Number.isNaN(Date.parse(raw.replace(' ', 'T') + 'Z')))) {
      throw new WebapiError(E.FIELD_VALUE_INVALID, { value: raw, fieldName: name });
    }
    return raw;
  };
  const text = one(query, 'q');
  if (text !== null && text.length > 200) {
    throw new WebapiError(E.FIELD_VALUE_INVALID, { value: text.slice(0, 40), fieldName: 'q' });
  }
  return {
    status,
    userType: integer(query, 'user_type', 0, 32767),
    userId: integer(query, 'user_id', 0, 2_147_483_647),
    from: date('from'),
    to: date('to'),
    text,
    page: integer(query, 'page', 1, 100_000) ?? 1,
    pageSize: integer(query, 'pageSize', 1, maxPageSize) ?? 20,
  };
}

/** One list item: the status API's summary of the bulk. */
export function bulkSummary(row: BulkSummaryRow) {
  return {
    bulk_id: row.bulk_id,
    description: row.description,
    user_type: row.user_type,
    user_id: row.user_id,
    start_time: row.start_time,
    operation_count: row.operation_count,
    bulk_status: bulkStatus(row),
    operation_counts: operationCounts(row),
  };
}

export async function bulkListEndpoint(sc: StatusContext, ctx: Context, a: Access): Promise<void> {
  const q = parseBulkListQuery(parseQueryString(ctx.querystring), sc.limits.maxPageSize);
  sendJson(ctx, 200, await readBulkList(sc, a, q));
}

/** The list answer (also streamed by GET /V1/bulks/stream). */
export async function readBulkList(sc: StatusContext, a: Access, q: BulkListQuery) {
  // Without the ACL resource a caller lists its own bulks only, whatever it asked for.
  const userType = a.all ? q.userType : a.caller.userType;
  const userId = a.all ? q.userId : a.caller.userId;
  const { rows } = await sc.pool.query<BulkSummaryRow>(listBulks(sc.schema), [
    userType,
    userId,
    q.from,
    q.to,
    q.text,
    BULK_LIST_SCAN,
  ]);
  const items = rows.map(bulkSummary).filter((b) => q.status === null || q.status.includes(b.bulk_status));
  const start = (q.page - 1) * q.pageSize;
  return { items: items.slice(start, start + q.pageSize), total_count: items.length };
}
