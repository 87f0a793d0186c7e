/** GET /V1/bulk/:uuid/status and /detailed-status (source notes §6, CONTRACT §4), with `?waitSeconds=`. */
import type { Context } from 'koa';
import { sendJson } from '../../http/respond.ts';
import { withTransaction } from '../../db/pool.ts';
import * as sql from '../../db/sql/status.ts';
import { bulkStatus, isFinished, operationCounts } from '../summary.ts';
import { parseQueryString } from '../search-criteria.ts';
import { checkBulk, type Access } from '../access.ts';
import { selectSummary } from '../queries.ts';
import { flag, waitSeconds } from '../request.ts';
import { waitUntilFinished } from '../long-poll.ts';
import type { StatusContext } from '../context.ts';

export async function bulkStatusEndpoint(
  sc: StatusContext,
  ctx: Context,
  a: Access,
  uuid: string,
  detailed: boolean,
): Promise<void> {
  const { pool, schema } = sc;
  const query = parseQueryString(ctx.querystring);
  const wait = waitSeconds(query, sc.limits.maxWaitSeconds);
  const withOperations = flag(query, 'operations', true);
  let row = await selectSummary(pool, schema, uuid);
  checkBulk(a, uuid, row);
  if (wait > 0 && !isFinished(row!)) row = (await waitUntilFinished(sc, ctx, uuid, wait)) ?? row;

  const body: Record<string, unknown> = {};
  if (withOperations) {
    // The list and the summary from one snapshot: read apart, an answer could list every operation
    // final under a bulk_status still "in progress" (an outcome committed between the two reads).
    const read = await withTransaction(pool, async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const summary = await selectSummary(client, schema, uuid);
      const { rows } = await client.query(
        detailed ? sql.selectDetailedOperations(schema) : sql.selectShortOperations(schema),
        [uuid],
      );
      return { summary, rows };
    });
    row = read.summary ?? row;
    body.operations_list = read.rows;
  }
  const bulk = row!;
  // Key order: Magento's BulkSummaryInterface reflection order (source notes §6), then ours.
  body.user_type = bulk.user_type;
  body.bulk_id = bulk.bulk_id;
  body.description = bulk.description;
  body.start_time = bulk.start_time;
  body.user_id = bulk.user_id;
  body.operation_count = bulk.operation_count;
  body.bulk_status = bulkStatus(bulk);
  body.operation_counts = operationCounts(bulk);
  sendJson(ctx, 200, body);
}
