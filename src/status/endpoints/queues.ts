/**
 * GET /V1/queues (beyond Magento, the dashboard's queues page): open jobs per queue, the oldest
 * one's age, retries waiting, and the consumers seen recently with their rates. Operators only:
 * it shows every caller's work, so it needs the bulk-operations resource.
 */
import type { Context } from 'koa';
import { sendJson } from '../../http/respond.ts';
import { selectHeartbeats, selectQueueStats, type HeartbeatRow, type QueueStatsRow } from '../../db/sql/operators.ts';
import { ALIVE_SECONDS } from '../../metrics/registry.ts';
import { unauthorized, type Access } from '../access.ts';
import type { StatusContext } from '../context.ts';

/** Consumers seen within this long are listed (alive or recently gone). */
const LISTED_SECONDS = 600;

export async function queuesEndpoint(sc: StatusContext, ctx: Context, a: Access): Promise<void> {
  if (!a.all) throw unauthorized();
  const [queues, consumers] = await Promise.all([
    sc.pool.query<QueueStatsRow>(selectQueueStats(sc.bossSchema)),
    sc.pool.query<HeartbeatRow>(selectHeartbeats(sc.schema), [LISTED_SECONDS]),
  ]);
  sendJson(ctx, 200, {
    queues: queues.rows,
    consumers: consumers.rows.map((c) => ({ ...c, alive: c.seen_seconds_ago < ALIVE_SECONDS })),
    alive_seconds: ALIVE_SECONDS,
  });
}
