/**
 * The lifecycle's settings and what its rules run with.
 *
 *   open (4) ──claim──▶ claimed ──outcome──▶ complete (1) | failed (3) | retriably failed (2)
 *      ▲                   │ lease lapses / given back      │ runs left: will_retry ──retry job──▶ claim
 *      └───────────────────┘                                 └ none left / canceled: final
 *   cancel: unclaimed → Canceled (3) at once; claimed → flagged, finishes, never retried
 *   retry API: final 2/3 → open (4), never one with a job (will_retry) or a claim
 *
 * Each rule has a module of its own here, its SQL beside it (`<rule>.sql.ts`, pure functions of
 * the schema): status.ts (codes, which failure gets which), finished.ts, claims.ts (leases),
 * outcomes.ts, retries.ts, put-off.ts (waiting behind a key), order-keys.ts, cancel.ts,
 * reopen.ts (the retry API), sweep.ts. docs/operation-lifecycle.md states each promise and the
 * test that proves it.
 */
import type { PgBoss } from 'pg-boss';
import { configDefaults, type Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../kernel/logger.ts';

export interface LifecyclePolicy {
  /** Longest one handler may run, ms; it is then aborted and fails retriably. */
  handlerTimeoutMs: number;
  /** Automatic retries after the first run. */
  retryLimit: number;
  retryDelaySeconds: number;
  retryBackoff: boolean;
  retryDelayMaxSeconds: number;
}

/** Longest delay between two automatic retries, s (not a setting). */
export const RETRY_DELAY_MAX_SECONDS = 300;

/** The lifecycle's part of the `consumer` settings. */
export function lifecyclePolicyFromConfig(consumer: Config['consumer']): LifecyclePolicy {
  return {
    handlerTimeoutMs: consumer.handlerTimeoutSeconds * 1000,
    retryLimit: consumer.retryLimit,
    retryDelaySeconds: consumer.retryDelaySeconds,
    retryBackoff: consumer.retryBackoff,
    retryDelayMaxSeconds: RETRY_DELAY_MAX_SECONDS,
  };
}

/** The configuration's defaults. */
export const DEFAULT_LIFECYCLE: LifecyclePolicy = lifecyclePolicyFromConfig(configDefaults.consumer);

export interface LifecycleContext {
  pool: Pool;
  boss: PgBoss;
  schema: string;
  log: Logger;
  policy: LifecyclePolicy;
  /** Wakes this process's idle fetch loops of a queue (a put-off job there became runnable). */
  wake?: ((queue: string) => void) | undefined;
}
