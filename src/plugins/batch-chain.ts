/**
 * The interceptor chain around a batch handler. Without an `around` the chain is one segment
 * (pipeline.ts): per operation its `before`s in order, then the handler, then its `after`s in
 * descending order — so a batch can run every operation's befores, one set-based call, then every
 * successful operation's afters, and each operation sees exactly what its single run would have.
 * An `around` wraps one call of the handler per operation, which a batch cannot honour: with one
 * enabled, there is no batch chain and the single handler runs.
 *
 * Any interceptor that throws throws the whole batch: the executor rolls the group back and runs
 * its operations one by one, where a throw fails (and rolls back) only its own operation.
 */
import type {
  BatchHandler,
  BatchHandlerContext,
  BatchOperation,
  BatchOutcome,
  HandlerContext,
} from '../kernel/handler.ts';
import { sortInterceptors, type OwnedInterceptor } from './pipeline.ts';

export type BatchInvoke = (
  ops: readonly BatchOperation[],
  ctx: BatchHandlerContext,
) => Promise<readonly BatchOutcome[]>;

/** Thrown when a batch handler's answer does not give one outcome per operation. */
export class BatchShapeError extends Error {
  constructor(operationId: string, expected: number, got: unknown) {
    const n = Array.isArray(got) ? `${got.length} outcomes` : typeof got;
    super(`Batch handler for "${operationId}" returned ${n} for ${expected} operations.`);
    this.name = 'BatchShapeError';
  }
}

/** The batch chain for one operationId, or null when an `around` interceptor applies to it. */
export function compileBatchChain(
  interceptors: readonly OwnedInterceptor[],
  handler: BatchHandler,
): BatchInvoke | null {
  const sorted = sortInterceptors(interceptors).map((o) => o.interceptor);
  if (sorted.some((i) => i.around)) return null;
  const befores = sorted.filter((i) => i.before);
  const afters = sorted.filter((i) => i.after).reverse();
  return async (ops, ctx) => {
    const given: BatchOperation[] = [];
    for (const op of ops) given.push({ args: await runBefores(op.args, op.ctx), ctx: op.ctx });
    const outcomes = await handler(given, ctx);
    if (!Array.isArray(outcomes) || outcomes.length !== ops.length) {
      throw new BatchShapeError(ctx.operationId, ops.length, outcomes);
    }
    if (!afters.length) return outcomes;
    const final: BatchOutcome[] = [];
    for (const [index, outcome] of outcomes.entries()) {
      if (!outcome.ok) {
        final.push(outcome);
        continue;
      }
      let result = outcome.result;
      for (const i of afters) result = await i.after!(result, given[index]!.args, given[index]!.ctx);
      final.push({ ok: true, result });
    }
    return final;
  };

  async function runBefores(input: unknown, ctx: HandlerContext): Promise<unknown> {
    let args = input;
    for (const i of befores) {
      const changed = await i.before!(args, ctx);
      if (changed !== undefined && changed !== null) args = changed;
    }
    return args;
  }
}
