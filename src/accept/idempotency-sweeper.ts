/**
 * Deletes expired Idempotency-Key rows (each holds a whole response, up to hundreds of kB) so they
 * do not pile up: every `intervalSeconds`, in batches, so one sweep never holds a long lock or
 * runs one long statement. Several servers sweeping at once only share the work.
 */
import type pg from 'pg';
import type { Logger } from '../kernel/logger.ts';
import { every } from '../kernel/periodic.ts';
import { deleteExpiredIdempotencyKeys } from '../db/sql/accept.ts';

export interface SweeperOptions {
  pool: pg.Pool;
  schema: string;
  ttlSeconds: number;
  intervalSeconds: number;
  batchSize?: number;
  log: Logger;
}

/** Deletes every expired key now; returns how many. */
export async function sweepIdempotencyKeys(options: Omit<SweeperOptions, 'intervalSeconds' | 'log'>): Promise<number> {
  const batch = options.batchSize ?? 1000;
  let total = 0;
  for (;;) {
    const { rowCount } = await options.pool.query(deleteExpiredIdempotencyKeys(options.schema), [
      options.ttlSeconds,
      batch,
    ]);
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return total;
  }
}

/** Starts sweeping every `intervalSeconds`; returns the stop function. */
export function startIdempotencySweeper(options: SweeperOptions): () => Promise<void> {
  const timer = every(options.intervalSeconds * 1000, () =>
    sweepIdempotencyKeys(options).then(
      (n) => {
        if (n > 0) options.log.info({ deleted: n }, 'expired idempotency keys deleted');
      },
      (err: unknown) => options.log.warn({ err }, 'idempotency key sweep failed'),
    ),
  );
  return () => timer.stop();
}
