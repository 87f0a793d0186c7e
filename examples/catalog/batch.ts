/**
 * The catalog's batch handlers: many saves (or deletes) in a handful of statements — the product
 * rows, the values at each operation's store, the admin values added where missing, the responses —
 * whatever the number of operations. Each operation gets what its single handler would have done
 * (product.ts holds the rules both use), in its own store scope.
 *
 * Operations are applied in rounds of distinct skus, in the order given: a sku saved twice in one
 * batch is saved by its first operation in one round and its second in the next, as one by one.
 */
import { OperationError, type BatchHandler, type BatchOutcome, type BatchOperation } from '../../src/plugin.ts';
import { NO_SUCH_PRODUCT, viewOf, writePlan, type ProductArgs, type ProductInput } from './product.ts';
import {
  ADMIN_STORE_ID,
  deleteProducts,
  selectProducts,
  upsertProducts,
  writeManyValues,
  type ValueRow,
} from './sql.ts';

/** Thrown when a sku was neither created nor updated (a concurrent writer): the batch runs one by one. */
class ConcurrentSaveError extends Error {
  constructor(sku: string) {
    super(`Product ${sku} changed while its batch was saved.`);
    this.name = 'ConcurrentSaveError';
  }
}

interface Save {
  index: number;
  op: BatchOperation<ProductArgs>;
  sku: string;
  product: ProductInput;
}

/** Splits items into rounds where no two share a key, keeping their order per key. */
export function rounds<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const result: T[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (result[round] ??= []).push(item);
  }
  return result;
}

/** Failures an input check throws become that operation's outcome; it writes nothing. */
function check<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (error instanceof OperationError) return { ok: false, error };
    throw error;
  }
}

export function saveBatch(
  input: (args: ProductArgs) => { product: ProductInput; sku: string },
): BatchHandler<ProductArgs> {
  return async (ops, { tx }) => {
    const outcomes: BatchOutcome[] = new Array(ops.length);
    const saves: Save[] = [];
    for (const [index, op] of ops.entries()) {
      const checked = check(() => input(op.args));
      if (checked.ok) saves.push({ index, op, ...checked.value });
      else outcomes[index] = checked;
    }
    for (const round of rounds(saves, (s) => s.sku)) {
      const upserted = await upsertProducts(
        tx,
        round.map((s) => ({ sku: s.sku, typeId: s.product.type_id, attributeSetId: s.product.attribute_set_id })),
      );
      const created = new Map(upserted.map((u) => [u.sku, u.created]));
      const values: ValueRow[] = [];
      const missing: ValueRow[] = [];
      for (const s of round) {
        const wasCreated = created.get(s.sku);
        if (wasCreated === undefined) throw new ConcurrentSaveError(s.sku);
        const plan = writePlan(s.product, s.op.ctx.store, wasCreated);
        for (const [attribute, value] of plan.values)
          values.push({ sku: s.sku, storeId: plan.storeId, attribute, value });
        for (const [attribute, value] of plan.missingAtAdmin) {
          missing.push({ sku: s.sku, storeId: ADMIN_STORE_ID, attribute, value });
        }
      }
      await writeManyValues(tx, values);
      await writeManyValues(tx, missing, true);
      // The response shows each product in the scope it was saved in.
      const seen = await selectProducts(
        tx,
        round.map((s) => ({ sku: s.sku, storeId: s.op.ctx.store.id })),
      );
      for (const s of round) outcomes[s.index] = { ok: true, result: viewOf(seen.get(s.sku)!) };
    }
    return outcomes;
  };
}

export const deleteBatch: BatchHandler<ProductArgs> = async (ops, { tx }) => {
  const outcomes: BatchOutcome[] = new Array(ops.length);
  const deletes: { index: number; sku: string }[] = [];
  for (const [index, op] of ops.entries()) {
    if (typeof op.args.sku === 'string') deletes.push({ index, sku: op.args.sku });
    else outcomes[index] = { ok: false, error: new OperationError(NO_SUCH_PRODUCT) };
  }
  for (const round of rounds(deletes, (d) => d.sku)) {
    const existed = await deleteProducts(
      tx,
      round.map((d) => d.sku),
    );
    for (const d of round) {
      outcomes[d.index] = existed.has(d.sku)
        ? { ok: true, result: true }
        : { ok: false, error: new OperationError(NO_SUCH_PRODUCT) };
    }
  }
  return outcomes;
};
