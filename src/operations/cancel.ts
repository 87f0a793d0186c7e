/**
 * Cancel: the cancel API (cancel.sql.ts) cancels every unfinished operation of a bulk. One no
 * worker holds is `Canceled` (status 3) at once and never runs; one a worker holds is flagged and
 * finished here once no worker holds it any more.
 */
import type { LifecycleContext } from './policy.ts';
import * as sql from './cancel.sql.ts';

export const CANCELED_MESSAGE = 'Canceled';

/** Finishes the operations canceled while claimed whose claim is gone (see `finishCanceled`). */
export async function finishCanceled(ctx: LifecycleContext, items: readonly { bulk: string; key: number }[]) {
  if (!items.length) return;
  await ctx.pool.query(sql.finishCanceled(ctx.schema), [
    items.map((i) => i.bulk),
    items.map((i) => i.key),
    CANCELED_MESSAGE,
  ]);
}
