/**
 * Plugins' checks (`validate` in the plugin API): read-only verdicts on one operation's arguments,
 * run in two places and nowhere else (docs/validate-only.md):
 * - a `?validateOnly=true` request, in the server: each accepted item of the request, a few at a
 *   time on READ ONLY transactions, all within `validateTimeoutMs` (createRequestChecks);
 * - the consumer, right before the operation's handler (PluginRegistry.invoke and its batch
 *   chains), on the handler's own transaction inside a savepoint that is always rolled back and
 *   made read-only, within `validateTimeoutMs` too: the same check that answered the client
 *   guards the run, against the store as it is by then.
 * Both see the arguments the handler would get: the stored input, secrets opened, coerced to the
 * generated types (src/plugins/coerce.ts), before any interceptor.
 */
import type pg from 'pg';
import { ident } from '../db/pool.ts';
import { E, renderTemplate } from '../errors/catalogue.ts';
import type { CheckedRejection, ItemChecks } from '../accept/accept.ts';
import type { InputValidator } from '../accept/prepare.ts';
import { OperationError, RetriableError } from '../kernel/operation-errors.ts';
import { savepoint, type Queryable } from '../kernel/queryable.ts';
import type { Logger } from '../kernel/logger.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import type { ValidateContext, Validator } from '../kernel/handler.ts';
import { handlerArgsOf } from './coerce.ts';
import type { PluginRegistry } from './registry.ts';

/** One plugin's check of an operation. */
export interface Check {
  plugin: string;
  validate: Validator;
}

/** What a check is given besides the arguments: its context without the deadline's signal. */
type CheckContext = Omit<ValidateContext, 'signal'>;

/**
 * Runs an operation's checks in order until one throws (that error is rethrown) or `signal` is
 * aborted (its reason is thrown; a check still running is left to notice the signal).
 */
export async function runChecks(
  checks: readonly Check[],
  args: unknown,
  ctx: CheckContext,
  signal: AbortSignal,
): Promise<void> {
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    for (const check of checks) {
      signal.throwIfAborted();
      const running = Promise.resolve().then(() => check.validate(args, { ...ctx, signal }));
      running.catch(() => {});
      await Promise.race([running, aborted]);
    }
  } finally {
    // A listener left on a long-lived signal (a request's deadline, a handler's) keeps this item's
    // context alive with it: on a signal of AbortSignal.any or .timeout, until the process ends.
    signal.removeEventListener('abort', onAbort);
  }
}

/** The message of a check's deadline: it names the plugins whose checks the operation has. */
export function checkTimeout(checks: readonly Check[], timeoutMs: number): RetriableError {
  const plugins = [...new Set(checks.map((c) => c.plugin))].join(', ');
  return new RetriableError(renderTemplate(E.CHECK_TIMEOUT.template, [plugins, timeoutMs]));
}

/**
 * An operation's checks in the consumer, before its handler: on `tx` (the handler's transaction)
 * in a savepoint made read-only and always rolled back, taken only when a check queries, within
 * `timeoutMs` (a check past it fails the operation retriably) and the handler's own `signal`.
 */
export async function checkBeforeHandler(
  checks: readonly Check[],
  args: unknown,
  ctx: CheckContext,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  // One controller aborted by the deadline or by the handler's signal, its listener removed at the
  // end. Not AbortSignal.any: Node keeps such a signal (and everything its listeners reach: the
  // operation's context, its transaction, its batch) alive while it has a listener and its sources
  // could abort, which leaked every checked operation (RSS 236 -> 633 MiB over 100,000 in bench:depth).
  const deadline = new AbortController();
  const forward = (): void => deadline.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  const timer = setTimeout(() => deadline.abort(checkTimeout(checks, timeoutMs)), timeoutMs);
  const scope = readOnlyScope(ctx.tx);
  try {
    await runChecks(checks, args, { ...ctx, tx: scope.tx }, deadline.signal);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', forward);
    await scope.end();
  }
}

const ROLLBACK = Symbol('rollback');

/**
 * `tx` as a check sees it in the consumer: its first query opens a savepoint with
 * `transaction_read_only` on (a write fails), and `end()` rolls that savepoint back, so nothing a
 * check did remains and a statement it failed does not abort the handler's transaction. A check
 * that never queries costs nothing. Queries after `end()` are refused.
 */
export function readOnlyScope(tx: Queryable): { tx: Queryable; end(): Promise<void> } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let entered: Promise<void> | null = null;
  let scope: Promise<void> | null = null;
  let ended = false;
  const enter = () =>
    new Promise<void>((resolve, reject) => {
      scope = savepoint(tx, async () => {
        await tx.query('SET LOCAL transaction_read_only = on');
        resolve();
        await released;
        throw ROLLBACK;
      }).then(
        () => {},
        (error: unknown) => {
          if (error !== ROLLBACK) reject(error as Error);
        },
      );
    });
  return {
    tx: {
      async query(text, values) {
        if (ended) throw new Error('The check has ended; its transaction is closed.');
        await (entered ??= enter());
        return tx.query(text, values);
      },
    },
    async end() {
      ended = true;
      release();
      await scope;
    },
  };
}

/**
 * A read-only transaction for a validate-only request's checks (one per worker): one connection,
 * taken under the server's cap and opened at the first query (`BEGIN READ ONLY`, the handlers'
 * search path, a statement timeout of the request's deadline). A failed statement (a check's bug,
 * or a write) does not spoil the items after it: the next query starts a fresh transaction.
 */
class ReadOnlyTransaction implements Queryable {
  #pool: pg.Pool;
  #begin: string;
  #client: Promise<pg.PoolClient> | null = null;
  #failed = false;
  #closed = false;
  #permits: Semaphore;

  constructor(pool: pg.Pool, searchPath: readonly string[], timeoutMs: number, permits: Semaphore) {
    this.#pool = pool;
    this.#permits = permits;
    this.#begin = `BEGIN READ ONLY; SET LOCAL search_path TO ${searchPath.map(ident).join(', ')}; SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(timeoutMs))}`;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) {
    if (this.#closed) throw new Error('The checks have ended; their transaction is closed.');
    const client = await (this.#client ??= this.#open());
    if (this.#failed) {
      this.#failed = false;
      await client.query(`ROLLBACK; ${this.#begin}`);
    }
    try {
      const result = await client.query<R>(text, values);
      return { rows: result.rows, rowCount: result.rowCount };
    } catch (error) {
      this.#failed = true;
      throw error;
    }
  }

  async #open(): Promise<pg.PoolClient> {
    await this.#permits.acquire();
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query(this.#begin);
      return client;
    } catch (error) {
      client?.release(error as Error);
      this.#permits.release();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (!this.#client) return;
    let client: pg.PoolClient;
    try {
      client = await this.#client;
    } catch {
      return;
    }
    try {
      await client.query('ROLLBACK');
      client.release();
    } catch (error) {
      client.release(error as Error);
    } finally {
      this.#permits.release();
    }
  }
}

/** An OperationError or RetriableError (of this copy of the plugin API or another one's). */
function refusal(error: unknown): { message: string; code: number } | null {
  const name = error instanceof Error ? error.name : '';
  if (
    !(error instanceof OperationError || error instanceof RetriableError) &&
    !/^(Operation|Retriable)Error$/.test(name)
  )
    return null;
  const code = (error as { errorCode?: unknown }).errorCode;
  return {
    message: (error as Error).message || name,
    code: typeof code === 'number' && Number.isInteger(code) ? code : 0,
  };
}

export interface RequestChecksOptions {
  pool: pg.Pool;
  schema: string;
  /** The plugins (loaded at serve's start, as a consumer loads them). */
  registry: PluginRegistry;
  /** The generated validators, whose coercion gives the arguments the handler's types say. */
  validators: Readonly<Record<string, InputValidator | undefined>>;
  /** All checks of one request, ms (`validateTimeoutMs`). */
  timeoutMs: number;
  log: Logger;
  /** Items of one request checked at once, each worker on a read-only transaction of its own. Default 4. */
  workers?: number;
  /**
   * Connections all validate-only requests' checks may hold at once (the rest wait), so checks
   * never take the pool from the accepts. Default 8.
   */
  maxConnections?: number;
}

/**
 * The checks of a validate-only request (`AcceptDependencies.checks`): each accepted item through
 * every check of its operation, `workers` items at a time, each worker on a read-only transaction
 * of its own (opened at its first query). A check's OperationError (or RetriableError) refuses its
 * item with that message and code; items not judged by the deadline are refused with a message
 * that says so; any other error is a bug of the check and fails the request (500, logged).
 */
export function createRequestChecks(options: RequestChecksOptions): ItemChecks {
  const connections = new Semaphore(options.maxConnections ?? 8);
  return async (route, store, items) => {
    const { registry } = options;
    const checks = registry.checks(route.operationId);
    if (!checks.length) return [];
    const validator =
      registry.describe(route.operationId)?.kind === 'fallback' ? undefined : options.validators[route.operationId];
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const searchPath = registry.searchPath(options.schema);
    const refused: CheckedRejection[] = [];
    const timedOut = (index: number): CheckedRejection => ({
      index,
      message: checkTimeout(checks, options.timeoutMs).message,
      code: 0,
    });
    let next = 0;
    let bug: { error: unknown } | null = null;
    const worker = async () => {
      const tx = new ReadOnlyTransaction(options.pool, searchPath, options.timeoutMs, connections);
      try {
        while (next < items.length && !bug) {
          const item = items[next++]!;
          if (deadline.aborted) {
            refused.push(timedOut(item.index));
            continue;
          }
          const ctx = context(route.operationId, store, item.index, tx, options.log);
          try {
            await runChecks(checks, handlerArgsOf(item.plain, validator), ctx, deadline);
          } catch (error) {
            const verdict = deadline.aborted ? null : refusal(error);
            if (verdict) refused.push({ index: item.index, ...verdict });
            else if (deadline.aborted) refused.push(timedOut(item.index));
            else bug ??= { error };
          }
        }
      } finally {
        await tx.close();
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.workers ?? 4, items.length) }, worker));
    if (bug) throw (bug as { error: unknown }).error;
    return refused;
  };
}

/** Permits for connections, handed out in arrival order. */
class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];

  constructor(permits: number) {
    this.#free = permits;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

function context(operationId: string, store: StoreScope, index: number, tx: Queryable, log: Logger): CheckContext {
  return { store, tx, operationId, index, log };
}
