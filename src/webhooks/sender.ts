/**
 * The webhook sender, run by `serve`: every `pollMs` it claims the due webhooks of finished bulks
 * (only those: however many bulks still run, they never take a finished one's turn) and sends
 * them. Being a sweep of the table rather than a reaction to an event is what makes it crash-safe:
 * a bulk that finished while no server ran, or a delivery cut off by a crash (its lease lapses),
 * is sent by the next sweep. Delivery is at least once; receivers dedupe on
 * `X-Magento-Async-Delivery`'s bulk uuid.
 */
import type pg from 'pg';
import type { WebhooksConfig } from '../config.ts';
import type { Logger } from '../kernel/logger.ts';
import * as sql from '../db/sql/webhooks.ts';
import type { BulkSummaryRow } from '../db/sql/status.ts';
import { bulkStatus, operationCounts } from '../status/summary.ts';
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

/** Webhooks claimed (and sent at once) per statement. */
const SWEEP_LIMIT = 50;
const MAX_BACKOFF_MS = 3_600_000;

/** A webhook claimed for one attempt, with its finished bulk's summary (`sql.claimDueWebhooks`). */
interface ClaimedWebhook extends BulkSummaryRow {
  url: string;
  attempts: number;
}

export function retryDelayMs(config: Pick<WebhooksConfig, 'retryBaseMs'>, attempt: number): number {
  return Math.min(config.retryBaseMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

export function startWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const { pool, schema, log, config } = options;
  const secret = config.secret!;
  const leaseSeconds = Math.ceil(config.timeoutMs / 1000) + 30;
  let running: Promise<void> | null = null;
  let stopped = false;

  /** Sends one claimed webhook and records the attempt. */
  async function deliver(claim: ClaimedWebhook): Promise<void> {
    const uuid = claim.bulk_id;
    const body = JSON.stringify({
      event: 'bulk.finished',
      bulk_uuid: claim.bulk_id,
      bulk_status: bulkStatus(claim),
      description: claim.description,
      start_time: claim.start_time,
      user_type: claim.user_type,
      user_id: claim.user_id,
      operation_count: claim.operation_count,
      operation_counts: operationCounts(claim),
    });
    const url = new URL(claim.url);
    const destination = await resolveDestination(url, config);
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
          'X-Magento-Async-Delivery': `${claim.bulk_id}/${claim.attempts}`,
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
    await pool.query(sql.recordDelivery(schema), [
      uuid,
      claim.attempts,
      result.ms,
      result.status,
      result.error ?? (ok ? null : `HTTP ${result.status}`),
      outcome,
      outcome === 'retry' ? retryDelayMs(config, claim.attempts) : null,
    ]);
    options.onDelivery?.(outcome);
    const level = outcome === 'delivered' ? 'info' : 'warn';
    log[level](
      { bulkUuid: uuid, attempt: claim.attempts, status: result.status, error: result.error, outcome },
      'webhook delivery',
    );
  }

  async function sweepOnce(): Promise<void> {
    // A full claim may have left more finished bulks behind: claim again until one comes back short.
    for (;;) {
      const { rows } = await pool.query<ClaimedWebhook>(sql.claimDueWebhooks(schema), [SWEEP_LIMIT, leaseSeconds]);
      await Promise.all(
        rows.map((claim) =>
          deliver(claim).catch((error: unknown) =>
            log.error({ err: error, bulkUuid: claim.bulk_id }, 'webhook failed'),
          ),
        ),
      );
      if (rows.length < SWEEP_LIMIT || stopped) return;
    }
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
