/**
 * The webhook sender, run by `serve`: every `pollMs` it looks at the pending webhooks that are due,
 * and sends those whose bulk is finished by the same definition the status API answers with
 * (src/status/summary.ts). Being a sweep of the table rather than a reaction to an event is what
 * makes it crash-safe: a bulk that finished while no server ran, or a delivery cut off by a crash
 * (its lease lapses), is sent by the next sweep. Delivery is at least once; receivers dedupe on
 * `X-Magento-Async-Delivery`'s bulk uuid.
 */
import type pg from 'pg';
import type { WebhooksConfig } from '../config.ts';
import type { Logger } from '../kernel/logger.ts';
import * as sql from '../db/sql/webhooks.ts';
import { selectSummary } from '../status/queries.ts';
import { bulkStatus, isFinished, operationCounts } from '../status/summary.ts';
import { resolveDestination } from './destination.ts';
import { post } from './deliver.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from './signature.ts';

export interface WebhookSender {
  /** One sweep now (tests; the timer calls it too). Resolves when its deliveries are recorded. */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

export interface WebhookSenderOptions {
  pool: pg.Pool;
  schema: string;
  log: Logger;
  config: WebhooksConfig;
  /** Called after each recorded delivery (metrics). */
  onDelivery?(outcome: 'delivered' | 'retry' | 'failed'): void;
}

const SWEEP_LIMIT = 50;
const MAX_BACKOFF_MS = 3_600_000;

export function retryDelayMs(config: Pick<WebhooksConfig, 'retryBaseMs'>, attempt: number): number {
  return Math.min(config.retryBaseMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

export function startWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const { pool, schema, log, config } = options;
  const secret = config.secret!;
  const leaseSeconds = Math.ceil(config.timeoutMs / 1000) + 30;
  let running: Promise<void> | null = null;
  let stopped = false;

  /** Sends the bulk's webhook if the bulk is finished; false when it is not finished yet. */
  async function deliver(uuid: string): Promise<boolean> {
    const summary = await selectSummary(pool, schema, uuid);
    if (!summary) return true; // deleted with its bulk by cascade
    if (!isFinished(summary)) return false;
    const { rows } = await pool.query<{ url: string; attempts: number }>(sql.claimWebhook(schema), [
      uuid,
      leaseSeconds,
    ]);
    const claim = rows[0];
    if (!claim) return true; // another sender took it
    const body = JSON.stringify({
      event: 'bulk.finished',
      bulk_uuid: summary.bulk_id,
      bulk_status: bulkStatus(summary),
      description: summary.description,
      start_time: summary.start_time,
      user_type: summary.user_type,
      user_id: summary.user_id,
      operation_count: summary.operation_count,
      operation_counts: operationCounts(summary),
    });
    const url = new URL(claim.url);
    const destination = await resolveDestination(url, config.allowLoopback);
    let result;
    if ('refused' in destination) {
      result = { status: null, error: `destination refused: ${destination.refused}`, ms: 0 };
    } else {
      const timestamp = Math.floor(Date.now() / 1000);
      result = await post(
        url,
        destination,
        {
          'Content-Type': 'application/json',
          'User-Agent': 'magento-async-webhook/1',
          'X-Magento-Async-Event': 'bulk.finished',
          'X-Magento-Async-Delivery': `${summary.bulk_id}/${claim.attempts}`,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: sign(secret, timestamp, body),
        },
        body,
        config.timeoutMs,
      );
    }
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const refused = 'refused' in destination;
    const outcome = ok ? 'delivered' : refused || claim.attempts >= config.maxAttempts ? 'failed' : 'retry';
    await pool.query(sql.insertDelivery(schema), [
      uuid,
      claim.attempts,
      result.ms,
      result.status,
      result.error ?? (ok ? null : `HTTP ${result.status}`),
    ]);
    if (outcome === 'retry') {
      await pool.query(sql.scheduleRetry(schema), [uuid, retryDelayMs(config, claim.attempts)]);
    } else {
      await pool.query(sql.finishWebhook(schema), [uuid, outcome]);
    }
    options.onDelivery?.(outcome);
    const level = outcome === 'delivered' ? 'info' : 'warn';
    log[level](
      { bulkUuid: uuid, attempt: claim.attempts, status: result.status, error: result.error, outcome },
      'webhook delivery',
    );
    return true;
  }

  async function sweepOnce(): Promise<void> {
    const { rows } = await pool.query<{ bulk_uuid: string }>(sql.selectDueWebhooks(schema), [SWEEP_LIMIT]);
    await Promise.all(
      rows.map((r) =>
        deliver(r.bulk_uuid).catch((error: unknown) =>
          log.error({ err: error, bulkUuid: r.bulk_uuid }, 'webhook failed'),
        ),
      ),
    );
  }

  const sweep = (): Promise<void> => {
    // One sweep at a time: a slow receiver must not pile up sweeps that claim nothing.
    running ??= sweepOnce()
      .catch((error: unknown) => log.error({ err: error }, 'webhook sweep failed'))
      .finally(() => {
        running = null;
      });
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) void sweep();
  }, config.pollMs);
  timer.unref();

  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
