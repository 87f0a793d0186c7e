/**
 * Batch handlers on the executor's side: the claimed operations of a delivered batch whose
 * operationId has a batch chain (PluginRegistry.batch) are grouped per operationId and each group
 * runs in one call, in one transaction that also records every operation of the group and completes
 * their jobs — one commit for the group instead of one per operation.
 *
 * What keeps the single path's guarantees:
 * - Order per entity key: a claim never holds two unfinished operations of one key (the later one
 *   is busy until the earlier one is final), so a group has at most one operation per key, and an
 *   operation runs in a group or singly, never both; a group keeps the claims' order.
 * - One bad operation never fails its neighbours: a group whose call throws (the set-based
 *   statement, an interceptor, a malformed answer) or runs out of time is rolled back whole and its
 *   operations are handed back to run one by one, where each fails or succeeds alone.
 * - Exactly once: the group's writes commit only with outcomes its claims still fence; a claim
 *   taken over meanwhile rolls the group back and the others run one by one.
 * Operations this does not start (canceled, stopping, too little lease left, unreadable arguments,
 * a group of one) are left to the single path, which knows what to do with each.
 */
import type { Job } from 'pg-boss';
import type { OperationRow } from '../db/sql/lifecycle.ts';
import type { BatchOperation, BatchOutcome, HandlerContext } from '../plugins/api.ts';
import type { BatchInvocation } from '../plugins/registry.ts';
import type { OperationJob } from '../queue/names.ts';
import { openSecrets } from '../accept/secrets.ts';
import { asFailure, lazyChild, parseArgs, type BatchContext } from './batch.ts';
import { STATUS_COMPLETE } from './classify.ts';
import { addressOf, recordOn, recordOutcomes, type Claimed, type Leases, type Outcome } from './lifecycle.ts';
import { LazyTransaction } from './transaction.ts';

/** A group looks again for cancellations before it starts when the last look is older than this. */
const CANCEL_LOOK_MS = 50;

export interface Group {
  operationId: string;
  batch: BatchInvocation;
  claims: Claimed[];
}

/**
 * Splits claims into groups for batch chains (two or more operations of one operationId that has
 * one) and the rest, keeping the claims' order inside each.
 */
export function groupClaims(
  claims: readonly Claimed[],
  batchOf: (operationId: string) => BatchInvocation | null,
): { groups: Group[]; single: Claimed[] } {
  const byOperation = new Map<string, Group | null>();
  for (const claim of claims) {
    const id = claim.row.operation_id;
    let group = byOperation.get(id);
    if (group === undefined) {
      const batch = batchOf(id);
      group = batch && { operationId: id, batch, claims: [] };
      byOperation.set(id, group);
    }
    group?.claims.push(claim);
  }
  const groups = [...byOperation.values()].filter((g): g is Group => g !== null && g.claims.length > 1);
  const grouped = new Set(groups.flatMap((g) => g.claims));
  return { groups, single: claims.filter((c) => !grouped.has(c)) };
}

/** What running a group's chain came to. */
export type GroupRun =
  | { kind: 'done'; outcomes: Outcome[]; seconds: number }
  /** The call threw or timed out: nothing it wrote may stay; run the operations one by one. */
  | { kind: 'fallback'; error: unknown }
  /** The claims may lapse: nothing of this run may be written, the deliveries are left to expire. */
  | { kind: 'lost' };

class GroupTimeoutError extends Error {
  constructor(ms: number) {
    super(`The batch handler did not finish within ${ms / 1000} s; its operations run one by one.`);
    this.name = 'GroupTimeoutError';
  }
}

/**
 * Runs a group's chain on `tx` with the handler deadline; per operation, the outcome to record
 * (a failure classified as a single handler's throw would be).
 */
export async function runGroup(
  ctx: BatchContext,
  group: Group,
  ops: readonly BatchOperation[],
  tx: HandlerContext['tx'],
  timeout: AbortController,
  lost: AbortSignal,
): Promise<GroupRun> {
  const signal = AbortSignal.any([timeout.signal, lost]);
  const timeoutMs = ctx.policy.handlerTimeoutMs;
  const timer = setTimeout(() => timeout.abort(new GroupTimeoutError(timeoutMs)), timeoutMs);
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  const ran = performance.now();
  try {
    const log = lazyChild(ctx.log, { operationId: group.operationId, batch: ops.length });
    const running = group.batch.run(ops, { tx, operationId: group.operationId, signal, log });
    running.catch(() => {});
    const outcomes = await Promise.race([running, aborted]);
    return {
      kind: 'done',
      outcomes: outcomes.map((o, i) => outcomeOf(o, group, group.claims[i]!.row)),
      seconds: (performance.now() - ran) / 1000,
    };
  } catch (error) {
    if (lost.aborted) return { kind: 'lost' };
    ctx.log.warn({ err: error, operationId: group.operationId, batch: ops.length }, 'batch handler failed');
    return { kind: 'fallback', error };
  } finally {
    clearTimeout(timer);
  }
}

function outcomeOf(o: BatchOutcome, group: Group, row: OperationRow): Outcome {
  if (!o.ok) return asFailure(o.error, row);
  return {
    status: STATUS_COMPLETE,
    errorCode: null,
    message: `Service execution success ${group.batch.handler}`,
    // Magento stores the JSON of the service output, `null` for a void method.
    result: JSON.stringify(o.result ?? null),
  };
}

/** The store scope and operation of a claimed row, as its single handler would see them. */
export function handlerContextOf(
  row: OperationRow,
  tx: HandlerContext['tx'],
  signal: AbortSignal,
  log: HandlerContext['log'],
): HandlerContext {
  return {
    store: { id: row.store_code === 'all' ? 0 : row.store_id, code: row.store_code, explicit: row.store_code !== null },
    tx,
    operation: {
      bulkUuid: row.bulk_uuid,
      key: row.operation_key,
      topic: row.topic_name,
      operationId: row.operation_id,
      attempt: row.attempts + 1,
      idempotencyKey: `${row.bulk_uuid}:${row.operation_key}`,
    },
    signal,
    log,
  };
}

/**
 * Today's executor seam (src/consumer/batch.ts calls it first): runs and settles every group it can
 * and returns the claims left for the single path, in their order.
 */
export async function runBatchGroups(
  ctx: BatchContext,
  queue: string,
  claims: Claimed[],
  leases: Leases,
  startedAt: Date,
): Promise<Claimed[]> {
  const batchOf = ctx.invoker.batch?.bind(ctx.invoker);
  if (!batchOf) return claims;
  const { groups, single } = groupClaims(claims, batchOf);
  if (!groups.length) return claims;
  const back = new Set(single);
  for (const found of groups) {
    await leases.lookAgain(CANCEL_LOOK_MS);
    for (const c of await settleGroup(ctx, queue, found, leases, startedAt)) back.add(c);
  }
  return claims.filter((c) => back.has(c));
}

/** Runs one group in one LazyTransaction and records it there; returns the claims to run singly. */
async function settleGroup(
  ctx: BatchContext,
  queue: string,
  found: Group,
  leases: Leases,
  startedAt: Date,
): Promise<Claimed[]> {
  const back: Claimed[] = [];
  const claims: Claimed[] = [];
  const tx = new LazyTransaction(ctx.pool, ctx.schema);
  const timeout = new AbortController();
  const signal = AbortSignal.any([timeout.signal, leases.lost.signal]);
  const ops: BatchOperation[] = [];
  for (const c of found.claims) {
    const address = addressOf(c.row.bulk_uuid, c.row.operation_key);
    if (ctx.stopping() || leases.canceled(address) || !leases.mayStart(address)) {
      back.push(c);
      continue;
    }
    let args: unknown;
    try {
      args = openSecrets(parseArgs(c.row.serialized_data), ctx.cryptKey);
    } catch {
      back.push(c); // its single run fails it with the same message it always did
      continue;
    }
    const log = lazyChild(ctx.log, {
      bulk: c.row.bulk_uuid,
      key: c.row.operation_key,
      operationId: c.row.operation_id,
    });
    ops.push({ args, ctx: handlerContextOf(c.row, tx, signal, log) });
    claims.push(c);
  }
  if (claims.length < 2) return [...back, ...claims];
  const group = { ...found, claims };
  const run = await runGroup(ctx, group, ops, tx, timeout, leases.lost.signal);
  if (run.kind === 'lost') {
    tx.abandon();
    for (const c of claims) leases.drop(addressOf(c.row.bulk_uuid, c.row.operation_key));
    ctx.log.warn(
      { operationId: group.operationId, batch: claims.length },
      'batch abandoned: its claims could not be kept',
    );
    return back;
  }
  if (run.kind === 'fallback') {
    tx.abandon(); // the connection goes, and with it everything the call wrote
    return [...back, ...claims];
  }
  for (const [i, c] of claims.entries()) {
    ctx.observe?.({
      topic: c.row.topic_name,
      status: run.outcomes[i]!.status,
      seconds: run.seconds / claims.length,
      attempt: c.row.attempts + 1,
    });
  }
  const items = claims.map((c, i) => ({ job: c.job, row: c.row, outcome: run.outcomes[i]! }));
  if (!tx.started) {
    await recordOutcomes(ctx, queue, items, [], startedAt);
  } else {
    const lapsed = await recordInGroupTransaction(ctx, queue, items, tx, startedAt);
    if (lapsed) {
      // Rolled back: the operations still ours run again one by one; the others are not ours.
      const isLapsed = (c: Claimed) => lapsed.has(addressOf(c.row.bulk_uuid, c.row.operation_key));
      for (const c of claims.filter(isLapsed)) leases.drop(addressOf(c.row.bulk_uuid, c.row.operation_key));
      return [...back, ...claims.filter((c) => !isLapsed(c))];
    }
  }
  for (const c of claims) leases.drop(addressOf(c.row.bulk_uuid, c.row.operation_key));
  return back;
}

/**
 * Records the group's outcomes and completes its jobs in its transaction, then commits. Returns
 * null when settled (committed, or, when the transaction failed, the failures recorded without it),
 * or the addresses of the claims found lapsed, after rolling everything back.
 */
async function recordInGroupTransaction(
  ctx: BatchContext,
  queue: string,
  items: { job: Job<OperationJob>; row: OperationRow; outcome: Outcome }[],
  tx: LazyTransaction,
  startedAt: Date,
): Promise<Set<string> | null> {
  let client;
  try {
    client = await tx.client();
  } catch (error) {
    // Never opened, so nothing was written: record each as failed by what stopped it.
    await recordOutcomes(ctx, queue, failed(items, error), [], startedAt);
    return null;
  }
  try {
    const recorded = await recordOn(ctx, client, queue, items, [], startedAt);
    if (recorded.length !== items.length) {
      await client.query('ROLLBACK');
      client.release();
      const ours = new Set(recorded.map((r) => addressOf(r.bulk_uuid, r.operation_key)));
      const lapsed = new Set(
        items.map((i) => addressOf(i.row.bulk_uuid, i.row.operation_key)).filter((a) => !ours.has(a)),
      );
      ctx.log.warn({ lapsed: lapsed.size, batch: items.length }, 'batch claims lapsed; the batch rolled back');
      return lapsed;
    }
    await client.query('COMMIT');
    client.release();
    return null;
  } catch (error) {
    // As a single operation's failed transaction: the connection is dropped, each is recorded as
    // failed by the error (retriable when the connection was lost), never run again here.
    client.release(error as Error);
    ctx.log.warn({ err: error, batch: items.length }, 'batch transaction failed');
    await recordOutcomes(ctx, queue, failed(items, error), [], startedAt);
    return null;
  }
}

function failed<T extends { row: OperationRow; outcome: Outcome }>(items: T[], error: unknown): T[] {
  return items.map((i) => ({
    ...i,
    outcome: i.outcome.status === STATUS_COMPLETE ? asFailure(error, i.row) : i.outcome,
  }));
}
