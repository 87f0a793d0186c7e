/**
 * Cancel: the cancel API (cancel.sql.ts) cancels every unfinished operation of a bulk. One no
 * worker holds is `Canceled` (status 3) at once and never runs; one a worker holds is flagged and
 * finished here once no worker holds it any more.
 */
import { bossSchemaFor } from '../queue/boss.ts';
import type { PoolClient } from '../db/pool.ts';
import type { LifecycleContext } from './policy.ts';
import * as sql from './cancel.sql.ts';

export const CANCELED_MESSAGE = 'Canceled';

/**
 * Finishes the operations canceled while claimed whose claim is gone (see `finishCanceled`), `job`
 * the delivery that finishes each.
 */
export async function finishCanceled(
  ctx: LifecycleContext,
  items: readonly { bulk: string; key: number; job: string }[],
) {
  if (!items.length) return;
  await ctx.pool.query(sql.finishCanceled(ctx.schema, bossSchemaFor(ctx.boss)), [
    items.map((i) => i.bulk),
    items.map((i) => i.key),
    CANCELED_MESSAGE,
    items.map((i) => i.job),
  ]);
}

/**
 * The cancel API on a bulk, in the caller's transaction: its locks first, then the cancel
 * (cancel.sql.ts). Returns how many operations it canceled (or flagged, when running).
 */
export async function cancelOn(client: PoolClient, schema: string, bossSchema: string, bulk: string): Promise<number> {
  for (const lock of sql.cancelLocks(schema, bossSchema)) await client.query(lock, [bulk]);
  const r = await client.query(sql.cancelOperations(schema, bossSchema), [bulk, CANCELED_MESSAGE]);
  return r.rowCount ?? 0;
}
