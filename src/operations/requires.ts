/**
 * Operations that wait for what they reference (docs/dependencies.md). A plugin declares, per
 * operationId, the entity keys an operation requires (`requires(args) → [{ entity, key }]`); an
 * operation provides its own entity key (order-keys.ts: the plugin's `orderKeys`, else the route's
 * path parameters). Before a claimed operation runs, its consumer looks ({@link lookBeforeRunning}):
 * - an unfinished operation provides a key it requires (accepted, not final; itself excluded):
 *   it waits, open, its message saying for what; its delivery is put off and made runnable by the
 *   provider's outcome (put-off.ts, {@link wakeDependants}), not by polling;
 * - a provider it waited for ended without completing: it fails naming that operation (the
 *   migration's trigger does the same at once for waiters no worker holds, 051_claims_are_jobs.sql);
 * - it waited longer than the wait limit: it fails naming the missing key;
 * - its wait closes a cycle (it waits, through others, for itself): it and the other waiting
 *   members fail, each message naming the cycle;
 * - else it runs: nothing pending provides what it requires (the entity may already exist).
 * Looks are serialised (one advisory lock per schema) so two operations starting to wait for each
 * other at once cannot both miss the cycle.
 */
import { prepared } from '../db/prepared.ts';
import type { Requirement, Requires } from '../kernel/requirement.ts';
import { bossSchemaFor, bossSchemaOf } from '../queue/boss.ts';
import type { Claimed } from './claims.ts';
import { addressOf, attemptToken } from './operation.ts';
import type { LifecycleContext } from './policy.ts';
import * as sql from './requires.sql.ts';
import { cycleMessage, findCycle, type Edge } from './cycles.ts';
import { keyValueText } from './key-text.ts';

/**
 * An entity key as operation_order spells it (011_lifecycle.sql): `<entity>@<store id>:<values>`,
 * values joined by U+001F. Keys are per store, like the order of one key.
 */
export function entityKey(storeId: number, r: Requirement): string {
  const values = Array.isArray(r.key) ? (r.key as readonly (string | number)[]) : [r.key as string | number];
  // key-text.ts: the same text as the order triggers give the provider's value.
  return `${r.entity}@${storeId}:${values.map((v) => keyValueText(v) ?? String(v)).join('\u001f')}`;
}

/** A claimed operation and the keys it requires (or why they could not be read). */
export interface Needs {
  claim: Claimed;
  keys: readonly string[] | { error: string };
}

/** What a look decided for a batch's claims. */
export interface Looked {
  /** Run now. */
  run: Claimed[];
  /** Wait: put off (their claims given back), at most `delaySeconds` unless woken earlier. */
  waiting: { claim: Claimed; delaySeconds: number }[];
  /** Failed by the look (written, claims given up): their deliveries are done. */
  failed: Claimed[];
  /** Other operations the look failed (members of a cycle): wake what waits for them. */
  alsoFailed: { bulk: string; key: number }[];
}

/** How long a waiter's put-off lasts at most when nothing wakes it (a lost wake, a crash). */
const SAFETY_DELAY_SECONDS = 30;

export const requiredFailedMessage = (p: {
  on_key: number;
  on_bulk: string;
  topic_name: string;
  need: string;
  result_message: string | null;
}): string =>
  `Required operation ${p.on_key} of bulk ${p.on_bulk} (${p.topic_name}), providing ${p.need}, failed: ${p.result_message ?? 'no message'}`;

export const waitingMessage = (need: string, onKey: number, onBulk: string): string =>
  `Waiting for ${need}: operation ${onKey} of bulk ${onBulk} provides it and is not finished.`;

export const waitLimitMessage = (need: string, seconds: number): string =>
  `Gave up waiting for ${need} after ${seconds} seconds (the wait limit): the operation providing it is not finished.`;

export const unreadableMessage = 'What the operation requires could not be read (its plugin’s requires failed).';

/**
 * The entity keys an operation requires: every declared `requires` on its arguments, a
 * requirement with no key left out, each key once. A `requires` that throws throws.
 */
export function requiredKeys(declared: readonly Requires[], args: unknown, storeId: number): string[] {
  const keys = new Set(
    declared.flatMap((requires) =>
      requires(args as never)
        .filter((r) => r.key !== null && r.key !== undefined && r.key !== '')
        .map((r) => entityKey(storeId, r)),
    ),
  );
  return [...keys];
}

/**
 * Looks at claimed operations that require keys, before they run (see the module comment). Claims
 * with no keys run and are not looked at. One transaction, under the looks' lock.
 */
export async function lookBeforeRunning(
  ctx: LifecycleContext,
  needs: readonly Needs[],
  waitLimitSeconds: number,
): Promise<Looked> {
  const looked: Looked = { run: [], waiting: [], failed: [], alsoFailed: [] };
  const pending = needs.filter((n) => !('error' in n.keys) && n.keys.length > 0);
  const unreadable = needs.filter((n) => 'error' in n.keys);
  for (const n of needs) if (!('error' in n.keys) && n.keys.length === 0) looked.run.push(n.claim);
  if (!pending.length && !unreadable.length) return looked;

  const byAddress = new Map(pending.map((n) => [address(n.claim), n]));
  const decided = new Map<string, { fail: boolean; message: string | null }>();
  for (const n of unreadable) decided.set(address(n.claim), { fail: true, message: unreadableMessage });
  const waits = new Map<string, { need: string; on_bulk: string; on_key: number; waited: number }[]>();

  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(sql.LOCK_LOOKS, [ctx.schema]);
    const bulks = pending.map((n) => n.claim.row.bulk_uuid);
    const keys = pending.map((n) => n.claim.row.operation_key);
    const seen = [...pending, ...unreadable];
    const gone = await client.query<{ bulk_uuid: string; operation_key: number }>(
      prepared(sql.finalAmong(ctx.schema), [
        seen.map((n) => n.claim.row.bulk_uuid),
        seen.map((n) => n.claim.row.operation_key),
      ]),
    );
    // Final since the claim read it (settleLooks writes nothing to it): its delivery is only done.
    for (const g of gone.rows) decided.set(addressOf(g.bulk_uuid, g.operation_key), { fail: true, message: null });
    const failedBefore = await client.query(prepared(sql.failedProviders(ctx.schema), [bulks, keys]));
    for (const f of failedBefore.rows) {
      if (decided.has(addressOf(f.bulk_uuid, f.operation_key))) continue;
      decided.set(addressOf(f.bulk_uuid, f.operation_key), { fail: true, message: requiredFailedMessage(f) });
    }
    const cleared = await client.query<{ bulk_uuid: string; operation_key: number; since: Date }>(
      prepared(sql.clearWaits(ctx.schema), [bulks, keys]),
    );
    const since = new Map(cleared.rows.map((r) => [addressOf(r.bulk_uuid, r.operation_key), r.since]));
    const rows = pending
      .filter((n) => !decided.has(address(n.claim)))
      .flatMap((n) => (n.keys as readonly string[]).map((need) => ({ n, need })));
    const recorded = await client.query<{
      bulk_uuid: string;
      operation_key: number;
      need: string;
      on_bulk: string;
      on_key: number;
      waited: number;
    }>(
      prepared(sql.recordWaits(ctx.schema), [
        rows.map((r) => r.n.claim.row.bulk_uuid),
        rows.map((r) => r.n.claim.row.operation_key),
        rows.map((r) => r.need),
        rows.map((r) => since.get(address(r.n.claim)) ?? null),
      ]),
    );
    for (const r of recorded.rows) {
      const a = addressOf(r.bulk_uuid, r.operation_key);
      waits.set(a, [...(waits.get(a) ?? []), r]);
    }
    const messages = new Map<string, { bulk: string; key: number; message: string }>();
    if (waits.size) {
      const starts = [...waits.keys()].map((a) => byAddress.get(a)!.claim.row);
      const graph = await client.query<Edge & { start_bulk: string; start_key: number }>(
        prepared(sql.reachableWaits(ctx.schema), [starts.map((r) => r.bulk_uuid), starts.map((r) => r.operation_key)]),
      );
      for (const row of starts) {
        const a = addressOf(row.bulk_uuid, row.operation_key);
        const edges = graph.rows.filter((e) => addressOf(e.start_bulk, e.start_key) === a);
        const cycle = findCycle(a, edges);
        if (cycle) {
          const message = cycleMessage(cycle);
          for (const step of cycle) {
            const s = addressOf(step.bulk, step.key);
            if (byAddress.has(s) && waits.has(s)) decided.set(s, { fail: true, message });
            else messages.set(s, { bulk: step.bulk, key: step.key, message });
          }
        }
      }
    }
    for (const [a, list] of waits) {
      if (decided.has(a)) continue;
      const longest = Math.max(...list.map((w) => w.waited));
      if (longest >= waitLimitSeconds) {
        decided.set(a, { fail: true, message: waitLimitMessage(list[0]!.need, waitLimitSeconds) });
      } else {
        const first = list[0]!;
        decided.set(a, { fail: false, message: waitingMessage(first.need, first.on_key, first.on_bulk) });
      }
    }
    if (messages.size) {
      const others = [...messages.values()];
      const failed = await client.query<{ bulk_uuid: string; operation_key: number }>(
        prepared(sql.failWaiting(ctx.schema, bossSchemaFor(ctx.boss)), [
          others.map((o) => o.bulk),
          others.map((o) => o.key),
          others.map((o) => o.message),
        ]),
      );
      looked.alsoFailed = failed.rows.map((r) => ({ bulk: r.bulk_uuid, key: r.operation_key }));
    }
    // Written: every failure and wait, and the message of one that waited before and runs now.
    const written = needs.filter((n) => decided.has(address(n.claim)) || since.has(address(n.claim)));
    await client.query(
      prepared(sql.settleLooks(ctx.schema, bossSchemaFor(ctx.boss)), [
        written.map((n) => n.claim.row.bulk_uuid),
        written.map((n) => n.claim.row.operation_key),
        written.map((n) => attemptToken(n.claim.job)),
        written.map((n) => decided.get(address(n.claim))?.fail ?? false),
        written.map((n) => decided.get(address(n.claim))?.message ?? null),
        written.map((n) => n.claim.job.name),
      ]),
    );
    await client.query('COMMIT');
    client.release();
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(error as Error);
    throw error;
  }

  for (const n of [...pending, ...unreadable]) {
    const a = address(n.claim);
    const d = decided.get(a);
    if (!d) looked.run.push(n.claim);
    else if (d.fail) looked.failed.push(n.claim);
    else {
      const waited = Math.max(...waits.get(a)!.map((w) => w.waited));
      const backoff = Math.min(SAFETY_DELAY_SECONDS, 2 ** Math.min(5, n.claim.job.data.deferred ?? 0));
      looked.waiting.push({
        claim: n.claim,
        delaySeconds: Math.max(1, Math.min(backoff, Math.ceil(waitLimitSeconds - waited))),
      });
    }
  }
  return looked;
}

/**
 * Makes the put-off deliveries of operations waiting for these (now final) runnable, and wakes
 * this process's loops of their queues. A failure only leaves them to their put-off delay.
 */
export async function wakeDependants(
  ctx: LifecycleContext,
  finished: readonly { bulk: string; key: number }[],
): Promise<void> {
  const bossSchema = bossSchemaOf(ctx.boss);
  if (!finished.length || bossSchema === undefined) return;
  try {
    const { rows } = await ctx.pool.query<{ name: string }>(
      prepared(sql.dependantJobs(ctx.schema, bossSchema), [finished.map((f) => f.bulk), finished.map((f) => f.key)]),
    );
    for (const queue of new Set(rows.map((r) => r.name))) ctx.wake?.(queue);
  } catch (error) {
    ctx.log.warn(
      { err: error },
      'could not wake operations waiting for finished ones; they look again after their delay',
    );
  }
}

const address = (c: Claimed): string => addressOf(c.row.bulk_uuid, c.row.operation_key);
