/**
 * Long-poll: wait until a bulk is finished or the time is up. Subscribe first, then re-read on
 * every wake-up; reading after subscribing is what makes a notice between the read and the sleep
 * harmless.
 */
import type { Context } from 'koa';
import * as sql from '../db/sql/status.ts';
import type { BulkSummaryRow } from '../db/sql/status.ts';
import { isFinished } from './summary.ts';
import { selectSummary } from './queries.ts';
import type { StatusContext } from './context.ts';

export async function waitUntilFinished(
  sc: StatusContext,
  ctx: Context,
  uuid: string,
  seconds: number,
): Promise<BulkSummaryRow | undefined> {
  const { pool, schema } = sc;
  const deadline = Date.now() + seconds * 1000;
  // Set by a wake-up; reset before each read, so a wake during the read is not slept through.
  let woken: boolean;
  let resume: (() => void) | null = null;
  const wake = () => {
    woken = true;
    resume?.();
  };
  let gone = false;
  const onClose = () => {
    // The client went away: stop waiting (and stop holding the listener slot).
    if (!ctx.res.writableEnded) {
      gone = true;
      wake();
    }
  };
  const unsubscribe = await sc.listener().subscribe(uuid, wake);
  ctx.res.once('close', onClose);
  let waiter: { id: string }[] = [];
  try {
    // Registered after subscribing and before the first read: a completion committed after the
    // registration notifies; one committed before it is seen by the read. Inside the try: a failed
    // registration must not leak the subscription.
    ({ rows: waiter } = await pool.query<{ id: string }>(sql.registerWaiter(schema), [
      uuid,
      sc.limits.maxWaitSeconds * 2,
    ]));
    for (;;) {
      woken = false;
      const row = await selectSummary(pool, schema, uuid);
      if (!row || isFinished(row) || gone) return row;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return row;
      if (!woken) {
        await new Promise<void>((resolve) => {
          // NOTIFY usually wakes us at once. The safety net: two transactions that finish a bulk's
          // last operations concurrently each miss the other's uncommitted work, so neither sends
          // the notice; one O(1) re-read every longPollRecheckMs (a second) catches that without
          // busy polling (test/status/streaming.test.ts: "no NOTIFY").
          const timer = setTimeout(resolve, Math.min(remaining, sc.limits.longPollRecheckMs));
          resume = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        resume = null;
      }
    }
  } finally {
    unsubscribe();
    ctx.res.off('close', onClose);
    if (waiter[0]) await pool.query(sql.unregisterWaiter(schema), [waiter[0].id]).catch(() => {});
  }
}
