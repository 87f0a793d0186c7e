/** A consumer's heartbeat row (the queues page, `consumers_alive`): who runs, on what, how fast. */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from '../kernel/logger.ts';
import { deleteHeartbeat, upsertHeartbeat } from '../db/sql/operators.ts';

export const HEARTBEAT_MS = 5000;

/** Resolves once the first heartbeat is written, so a started consumer is listed at once. */
export async function startHeartbeat(options: {
  pool: pg.Pool;
  schema: string;
  queues: string[];
  handled(): number;
  log: Logger;
  intervalMs?: number;
}): Promise<{ stop(): Promise<void> }> {
  const { pool, schema, log } = options;
  const id = randomUUID();
  let last = { at: performance.now(), handled: 0 };
  const beat = async () => {
    const now = performance.now();
    const handled = options.handled();
    const rate = now > last.at ? ((handled - last.handled) * 1000) / (now - last.at) : 0;
    last = { at: now, handled };
    await pool
      .query(upsertHeartbeat(schema), [id, hostname(), process.pid, options.queues, handled, rate])
      .catch((error: unknown) => log.warn({ err: error }, 'heartbeat not written'));
  };
  let current = beat();
  await current;
  const timer = setInterval(() => {
    current = beat();
  }, options.intervalMs ?? HEARTBEAT_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current;
      await pool.query(deleteHeartbeat(schema), [id]).catch(() => {});
    },
  };
}
