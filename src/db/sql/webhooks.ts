/** SQL of completion webhooks (migration 016), as functions of the schema name. */
import { ident } from '../pool.ts';

/** Registers webhooks in the accept transaction. $1 uuid[], $2 text[] urls. */
export function insertWebhooks(schema: string): string {
  return `INSERT INTO ${ident(schema)}.bulk_webhook (bulk_uuid, url)
    SELECT * FROM unnest($1::uuid[], $2::text[])`;
}

/** Pending webhooks whose next attempt is due, oldest first. $1 limit. */
export function selectDueWebhooks(schema: string): string {
  return `SELECT bulk_uuid::text AS bulk_uuid FROM ${ident(schema)}.bulk_webhook
    WHERE state = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1`;
}

/**
 * Claims one due webhook for one attempt: the lease (`next_attempt_at` pushed past the delivery's
 * timeout) keeps other senders off it; a sender that crashes mid-delivery lets the lease lapse and
 * the next sweep sends it again. $1 uuid, $2 lease seconds. Returns url and the attempt number.
 */
export function claimWebhook(schema: string): string {
  return `UPDATE ${ident(schema)}.bulk_webhook
    SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
    WHERE bulk_uuid = $1 AND state = 'pending' AND next_attempt_at <= now()
    RETURNING url, attempts`;
}

/** $1 uuid, $2 attempt, $3 duration ms, $4 http status or NULL, $5 error or NULL. */
export function insertDelivery(schema: string): string {
  return `INSERT INTO ${ident(schema)}.webhook_delivery (bulk_uuid, attempt, duration_ms, http_status, error)
    VALUES ($1, $2, $3, $4, $5)`;
}

/** $1 uuid, $2 state ('delivered' or 'failed'). */
export function finishWebhook(schema: string): string {
  return `UPDATE ${ident(schema)}.bulk_webhook SET state = $2, done_at = now() WHERE bulk_uuid = $1`;
}

/** $1 uuid, $2 delay ms. */
export function scheduleRetry(schema: string): string {
  return `UPDATE ${ident(schema)}.bulk_webhook
    SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000) WHERE bulk_uuid = $1`;
}

/** The webhook of a bulk and its deliveries, for the bulk's page. $1 uuid. */
export function selectWebhook(schema: string): string {
  const s = ident(schema);
  return `SELECT w.url, w.state, w.attempts, w.next_attempt_at, w.created_at, w.done_at,
      coalesce((SELECT json_agg(json_build_object('attempt', d.attempt, 'sent_at', d.sent_at,
          'duration_ms', d.duration_ms, 'http_status', d.http_status, 'error', d.error) ORDER BY d.id)
        FROM ${s}.webhook_delivery d WHERE d.bulk_uuid = w.bulk_uuid), '[]') AS deliveries
    FROM ${s}.bulk_webhook w WHERE w.bulk_uuid = $1`;
}

/**
 * Sends pending webhooks of bulks that are not finished yet to the back of the sweep's order, so a
 * few long-running bulks never hide the others from it. $1 uuid[], $2 delay ms.
 */
export function deferWebhooks(schema: string): string {
  return `UPDATE ${ident(schema)}.bulk_webhook
    SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
    WHERE bulk_uuid = ANY($1::uuid[]) AND state = 'pending' AND next_attempt_at <= now()`;
}
