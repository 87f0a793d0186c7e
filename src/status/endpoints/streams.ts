/**
 * GET /V1/bulks/stream and GET /V1/bulk/:uuid/stream (beyond Magento): the bulk list and one
 * bulk's summary as server-sent events, for the dashboard's live views (src/status/sse.ts). Same
 * query and same access as GET /V1/bulks and GET .../status?operations=false: the first event is
 * exactly what those answer, later events follow each change.
 */
import type { Context } from 'koa';
import { checkBulk, type Access } from '../access.ts';
import { selectSummary } from '../queries.ts';
import { parseQueryString } from '../search-criteria.ts';
import { streamChanges } from '../sse.ts';
import type { StatusContext } from '../context.ts';
import { bulkSummary, parseBulkListQuery, readBulkList } from './bulks.ts';

const INTERVAL_MS = 500;
const MAX_SECONDS = 300;

export async function bulkListStreamEndpoint(sc: StatusContext, ctx: Context, a: Access): Promise<void> {
  const q = parseBulkListQuery(parseQueryString(ctx.querystring), sc.limits.maxPageSize);
  streamChanges(ctx, () => readBulkList(sc, a, q), {
    intervalMs: INTERVAL_MS,
    maxSeconds: MAX_SECONDS,
    log: sc.log,
    admit: sc.admitStream,
  });
}

export async function bulkStreamEndpoint(sc: StatusContext, ctx: Context, a: Access, uuid: string): Promise<void> {
  checkBulk(a, uuid, await selectSummary(sc.pool, sc.schema, uuid));
  streamChanges(
    ctx,
    async () => {
      const row = await selectSummary(sc.pool, sc.schema, uuid);
      return row ? bulkSummary(row) : null;
    },
    { intervalMs: INTERVAL_MS, maxSeconds: MAX_SECONDS, log: sc.log, done: (v) => v === null, admit: sc.admitStream },
  );
}
