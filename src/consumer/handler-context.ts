/**
 * What a handler is called with: its arguments, built from the stored input, and its context
 * (store, transaction, operation, abort signal, logger).
 */
import { openSecrets, SECRET_MARK } from '../accept/secrets.ts';
import type { OperationRow } from '../operations/operation.ts';
import type { LifecycleContext } from '../operations/policy.ts';
import type { HandlerContext } from '../kernel/handler.ts';
import type { BatchContext } from './batch.ts';
import type { UnitContext } from './units.ts';

/** The handler context of one operation of a unit (a batch handler builds one per operation). */
export function operationContext(ctx: BatchContext, row: OperationRow, unit: UnitContext): HandlerContext {
  const { tx, signal, outsideDeadline } = unit;
  return {
    store: {
      id: row.store_code === 'all' ? 0 : row.store_id,
      code: row.store_code,
      explicit: row.store_code !== null,
    },
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
    outsideDeadline,
    log: logOf(ctx, row),
  };
}

/**
 * An operation's handler arguments: parsed afresh for each run (so they belong to it), its sealed
 * secret fields opened, converted to what the handler's generated types say (`ctx.coerce`).
 */
export function operationArgs(ctx: BatchContext, row: OperationRow): unknown {
  const parsed = parseArgs(row.serialized_data);
  // Most operations hold no secret: a look at the stored text costs less than walking the arguments.
  const args = row.serialized_data!.includes(SECRET_MARK) ? openSecrets(parsed, ctx.cryptKey) : parsed;
  return ctx.coerce ? ctx.coerce(row.operation_id, args, logOf(ctx, row)) : args;
}

/** The handler's arguments: `serialized_data.meta_information` is itself a JSON string (Magento). */
function parseArgs(serialized: string | null): unknown {
  if (serialized === null) throw new Error('The operation has no serialized data to run with.');
  const data = JSON.parse(serialized) as { meta_information?: unknown };
  if (typeof data.meta_information !== 'string') throw new Error('The operation has no meta_information.');
  return JSON.parse(data.meta_information);
}

/**
 * The operation's logger, made on first use: a pino child per operation costs more than a no-op
 * handler itself, and most operations never log.
 */
export function logOf(ctx: LifecycleContext, row: OperationRow): LifecycleContext['log'] {
  return new LazyChild(ctx.log, row);
}

type Log = LifecycleContext['log'];

/** One object per operation (closures per method and a bindings object were four times as many). */
class LazyChild implements Log {
  #log: Log & { child?: (bindings: object) => Log };
  #row: OperationRow | null;
  #made: Log | null = null;

  constructor(log: Log & { child?: (bindings: object) => Log }, row: OperationRow) {
    this.#log = log;
    this.#row = row;
  }

  #get(): Log {
    if (this.#made) return this.#made;
    const log = this.#log;
    const row = this.#row!;
    const bindings = { bulk: row.bulk_uuid, key: row.operation_key, operationId: row.operation_id };
    this.#row = null;
    return (this.#made = typeof log.child === 'function' ? log.child(bindings) : log);
  }

  info(obj: object | string, msg?: string): void {
    this.#get().info(obj, msg);
  }

  warn(obj: object | string, msg?: string): void {
    this.#get().warn(obj, msg);
  }

  error(obj: object | string, msg?: string): void {
    this.#get().error(obj, msg);
  }

  debug(obj: object | string, msg?: string): void {
    this.#get().debug(obj, msg);
  }
}
