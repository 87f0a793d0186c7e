/** SQL of completion webhooks (migration 016), as functions of the schema name. */
import { ident } from '../pool.ts';
import { bulkUnfinishedSql } from '../../operations/finished.ts';
import { selectBulksWithCounters } from './status.ts';

/** Registers webhooks in the accept transaction. $1 uuid[], $2 text[] urls. */
export function insertWebhooks(schema: string): string {
  return `INSERT INTO ${ident(schema)}.bulk_webhook (bulk_uuid, url)
    SELECT * FROM unnest($1::uuid[], $2::text[])`;
}

/**
 * Claims up to $1 due webhooks of finished bulks for one attempt each, and returns each with its
 * bulk's summary (the columns of `selectBulksWithCounters`), read in the same snapshot as the
 * claim: the payload describes the bulk as it was when it was found finished. Only finished bulks
 * (src/operations/finished.ts) are taken, so however many unfinished bulks wait with a webhook, a
 * finished one is never hidden behind them. The lease (`next_attempt_at` pushed past the delivery's timeout) keeps other
 * senders off a claimed webhook; a sender that crashes mid-delivery lets it lapse and the next
 * sweep sends it again. Oldest due first. $1 limit, $2 lease seconds.
 */
export function claimDueWebhooks(schema: string): string {
  const s = ident(schema);
  return `WITH due AS (
      SELECT w.bulk_uuid FROM ${s}.bulk_webhook w
      WHERE w.state = 'pending' AND w.next_attempt_at <= now()
        AND NOT EXISTS (SELECT 1 FROM ${s}.bulk_counter c WHERE c.bulk_uuid = w.bulk_uuid
          GROUP BY c.bulk_uuid HAVING ${bulkUnfinishedSql('c')})
      ORDER BY w.next_attempt_at
      LIMIT $1
      FOR UPDATE OF w SKIP LOCKED),
    claimed AS (
      UPDATE ${s}.bulk_webhook w
      SET attempts = w.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
      FROM due WHERE w.bulk_uuid = due.bulk_uuid
      RETURNING w.bulk_uuid, w.url, w.attempts)
    SELECT w.url, w.attempts, summary.*
    FROM claimed w CROSS JOIN LATERAL (${selectBulksWithCounters(schema)} WHERE b.uuid = w.bulk_uuid) summary`;
}

/**
 * Records one delivery attempt and its consequence in one statement: the attempt's row, and the
 * webhook delivered, failed, or due again after `$7` ms (a retry). The webhook is changed only while
 * this attempt still holds it (`attempts` unchanged): a delivery that outlived its lease, whose
 * webhook another sender claimed since, records its attempt and leaves the state to that sender.
 * $1 uuid, $2 attempt, $3 duration ms, $4 http status or NULL, $5 error or NULL,
 * $6 outcome ('delivered', 'failed' or 'retry'), $7 retry delay ms (with 'retry').
 */
export function recordDelivery(schema: string): string {
  const s = ident(schema);
  return `WITH attempt AS (
      INSERT INTO ${s}.webhook_delivery (bulk_uuid, attempt, duration_ms, http_status, error)
      VALUES ($1, $2, $3, $4, $5))
    UPDATE ${s}.bulk_webhook SET
      state = CASE WHEN $6::text = 'retry' THEN state ELSE $6::text END,
      done_at = CASE WHEN $6::text = 'retry' THEN done_at ELSE now() END,
      next_attempt_at = CASE WHEN $6::text = 'retry'
        THEN now() + make_interval(secs => $7::double precision / 1000) ELSE next_attempt_at END
    WHERE bulk_uuid = $1 AND state = 'pending' AND attempts = $2`;
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
