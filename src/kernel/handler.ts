/**
 * The contract between the consumer, which runs operations, and the plugins that handle them: what
 * a handler receives and what a batch handler returns.
 */
import type { Logger } from './logger.ts';
import type { Queryable } from './queryable.ts';
import type { StoreScope } from './store-scope.ts';

export interface OperationInfo {
  bulkUuid: string;
  /** Index of the operation in its bulk (Magento's `operation_key`). */
  key: number;
  topic: string;
  operationId: string;
  /** 1 for the first run, 2 for the first retry, … (a retry API reopening starts again at 1). */
  attempt: number;
  /**
   * `<bulk_uuid>:<operation_key>`, the same on every attempt: what a handler with effects outside
   * the database sends along (http-forward: the `Idempotency-Key` header) so a repeated attempt
   * is recognised as one.
   */
  idempotencyKey: string;
}

export interface HandlerContext {
  store: StoreScope;
  tx: Queryable;
  operation: OperationInfo;
  /**
   * Aborted when the handler must stop: its timeout (`consumer.handlerTimeoutSeconds`) passed, or
   * its worker can no longer keep the claim. Pass it to fetch() and other cancellable calls.
   */
  signal: AbortSignal;
  /**
   * Waits for `pending` with the handler's timeout stopped: for a wait on something outside the
   * handler that says when it may go on (an upstream's calls-per-second cap or its `Retry-After`),
   * which the timeout does not cover. `signal` still aborts when the claim cannot be kept. Given by
   * the consumer; absent where nothing times the handler.
   */
  outsideDeadline?<T>(pending: Promise<T>): Promise<T>;
  log: Logger;
}

/**
 * What a plugin's check (`validate`) sees. It runs in validate-only requests (in the server, before
 * anything is stored) and in the consumer right before the operation's handler, with the same
 * arguments the handler would get (before any interceptor). `tx` is read-only: a write fails
 * ("cannot execute … in a read-only transaction") and nothing of it remains.
 */
export interface ValidateContext {
  store: StoreScope;
  tx: Queryable;
  operationId: string;
  /** The item's index in its request (the operation's `operation_key` once accepted). */
  index: number;
  /** Aborted at the checks' deadline (`validateTimeoutMs`): stop, the item is not judged in time. */
  signal: AbortSignal;
  log: Logger;
}

// Handler arguments are `any` by default so untyped plugins compile. A plugin that passes the
// generated maps (`definePlugin<OperationArgs, OperationResults, ServiceOperations>`) gets every
// handler's arguments and result, and every interceptor's, typed by its key or target.

export type AnyArgs = any;

export type Handler<A = AnyArgs, R = unknown> = (args: A, ctx: HandlerContext) => R | Promise<R>;

/**
 * A plugin's check of one operation, read-only: it returns to let the operation through, and
 * throws an OperationError (its message and code are the item's `error_message` and `error_code`)
 * to refuse it; a RetriableError says it cannot tell now. Any other error is a bug of the check.
 */
export type Validator<A = AnyArgs> = (args: A, ctx: ValidateContext) => void | Promise<void>;

/**
 * One operation handed to a batch handler: its arguments (after the `before` interceptors) and its
 * own context (store, operation, log). `ctx.tx` is the group's one transaction, shared by all.
 */
export interface BatchOperation<A = AnyArgs> {
  args: A;
  ctx: HandlerContext;
}

/**
 * A batch handler's outcome for one operation, in the order of the operations it was given. A
 * failed operation must have written nothing to `tx` (check before writing): its neighbours' writes
 * commit. `error` is classified as a single handler's throw (RetriableError: status 2, else 3).
 */
export type BatchOutcome<R = unknown> = { ok: true; result: R } | { ok: false; error: unknown };

export interface BatchHandlerContext {
  /** The group's transaction: it also records every operation's status and completes its job. */
  tx: Queryable;
  operationId: string;
  /** Aborted at the handler timeout or when the worker can no longer keep the group's claims. */
  signal: AbortSignal;
  log: Logger;
}

/**
 * Runs many operations of one operationId at once (set-based SQL). Used only beside a single
 * handler of the same plugin, which runs instead when an `around` interceptor applies, and one by
 * one when this throws (docs/plugins-and-interceptors.md#batch-handlers).
 */
export type BatchHandler<A = AnyArgs, R = unknown> = (
  ops: readonly BatchOperation<A>[],
  ctx: BatchHandlerContext,
) => Promise<readonly BatchOutcome<R>[]>;
