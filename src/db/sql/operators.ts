/**
 * SQL of what operators look at (metrics, the dashboard's queues page): pg-boss's job table per
 * queue, and consumer heartbeats (migration 016). Functions of the schema names.
 */
import { ident } from '../pool.ts';

export interface QueueStatsRow {
  queue: string;
  /** Waiting to run: created, or failed and waiting for its retry. */
  queued: number;
  active: number;
  /** Failed attempts whose retry is still to come. */
  retry: number;
  /** Age in seconds of the oldest job not yet settled, or null when none is. */
  oldest_seconds: number | null;
}

/** Open jobs per queue. `state < 'completed'` is the enum order created, retry, active. */
export function selectQueueStats(bossSchema: string): string {
  return `SELECT name AS queue,
      count(*) FILTER (WHERE state IN ('created', 'retry'))::int AS queued,
      count(*) FILTER (WHERE state = 'active')::int AS active,
      count(*) FILTER (WHERE state = 'retry')::int AS retry,
      extract(epoch FROM now() - min(created_on))::float8 AS oldest_seconds
    FROM ${ident(bossSchema)}.job WHERE state < 'completed' GROUP BY name ORDER BY name`;
}

export interface HeartbeatRow {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  started_at: string;
  seen_at: string;
  seen_seconds_ago: number;
  handled: number;
  rate: number;
}

/** $1 id, $2 host, $3 pid, $4 queues, $5 handled, $6 rate. */
export function upsertHeartbeat(schema: string): string {
  return `INSERT INTO ${ident(schema)}.consumer_heartbeat AS h (id, host, pid, queues, handled, rate)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (id) DO UPDATE SET seen_at = now(), handled = excluded.handled, rate = excluded.rate`;
}

/** $1 id. A consumer that stops cleanly says so at once. */
export function deleteHeartbeat(schema: string): string {
  return `DELETE FROM ${ident(schema)}.consumer_heartbeat WHERE id = $1`;
}

/** Consumers seen within $1 seconds; older rows are dropped on the way (dead processes). */
export function selectHeartbeats(schema: string): string {
  const s = ident(schema);
  return `WITH gone AS (DELETE FROM ${s}.consumer_heartbeat WHERE seen_at < now() - interval '1 day')
    SELECT id, host, pid, queues, started_at, seen_at,
      extract(epoch FROM now() - seen_at)::float8 AS seen_seconds_ago, handled::float8 AS handled, rate
    FROM ${s}.consumer_heartbeat WHERE seen_at >= now() - make_interval(secs => $1) ORDER BY started_at`;
}
