/**
 * The plugin API: what an extension author imports. Kept small on purpose (Koa's lesson): a plugin
 * is a plain object of handlers keyed by operationId plus Magento-style interceptors.
 */
import type { QueryResultRow } from 'pg';

/** A query runner bound to the operation's transaction (the same one that records its status). */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

let savepoints = 0;

/**
 * Runs `fn` in a savepoint of `tx`: if it throws (a failed statement included), what it wrote is
 * rolled back, the error is rethrown, and the transaction goes on: the way to catch a SQL error and
 * keep using `ctx.tx` (PostgreSQL ignores every statement after a failed one until then).
 */
export async function savepoint<T>(tx: Queryable, fn: () => Promise<T>): Promise<T> {
  const own = (tx as { savepoint?: (fn: () => Promise<T>) => Promise<T> }).savepoint;
  if (typeof own === 'function') return own.call(tx, fn);
  const name = `plugin_savepoint_${++savepoints}`;
  await tx.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn();
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    throw error;
  }
}

/** The store view an operation was accepted in, with the fallback rules of CONTRACT §6. */
export interface StoreScope {
  /** Store id as Magento stores it: 0 for `all` (admin scope), 1 for the default store view. */
  id: number;
  /** Store code from the URL (`default`, `all`, a custom code) or null when the URL had none. */
  code: string | null;
  /** Whether the URL named a store (`/rest/<code>/...`); the fallback rules depend on it. */
  explicit: boolean;
}

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

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
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

export interface Interceptor<A = AnyArgs, R = unknown, T extends string = string> {
  /** Unique within the plugin; `<plugin>::<name>` is how other plugins refer to it. */
  name: string;
  /**
   * What this interceptor wraps: an operationId, a Magento service method
   * (`Magento\Catalog\Api\ProductRepositoryInterface::save`: every route of that method), or `*`.
   */
  target: T;
  sortOrder?: number;
  /** Switch off this interceptor, or (with `<Plugin>::<name>`) another plugin's one. */
  disabled?: boolean;
  before?: (args: A, ctx: HandlerContext) => A | void | Promise<A | void>;
  around?: (next: (args: A) => Promise<R>, args: A, ctx: HandlerContext) => R | Promise<R>;
  after?: (result: R, args: A, ctx: HandlerContext) => R | Promise<R>;
}

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

/** The generated result of operation(s) `K`; `unknown` where the plugin passed no result map. */
export type ResultOf<Results, K> = K extends keyof Results ? Results[K] : unknown;

/** The arguments of a service target: those of any of its routes. */
export type ServiceArgs<Args, Services, S extends keyof Services> = Args[Services[S] & keyof Args];

/**
 * One interceptor of a typed plugin: its `target` picks the argument and result types (a union
 * over the routes of a service target; `unknown` for `*`, which wraps everything).
 */
export type TypedInterceptor<Args, Results, Services> =
  | { [K in keyof Args & string]: Interceptor<Args[K], ResultOf<Results, K>, K> }[keyof Args & string]
  | {
      [S in keyof Services & string]: Interceptor<ServiceArgs<Args, Services, S>, ResultOf<Results, Services[S]>, S>;
    }[keyof Services & string]
  | Interceptor<unknown, unknown, '*'>;

type NoMap = Record<never, never>;

export interface PluginDefinition<
  Args extends Record<string, unknown> = Record<string, AnyArgs>,
  Results = NoMap,
  Services extends Record<string, keyof Args> = NoMap,
> {
  /** Magento-style `Vendor_Module`. */
  name: string;
  /** semver range the plugin works with, checked against the framework version at load. */
  compatibility: string;
  /**
   * Keyed by operationId, or by a Magento service method to handle every route of that method (an
   * operationId key of the same plugin wins over its service key for that route).
   */
  handlers?: { [K in keyof Args]?: Handler<Args[K], ResultOf<NoInfer<Results>, K>> } & {
    [S in keyof NoInfer<Services>]?: Handler<ServiceArgs<Args, Services, S>, ResultOf<NoInfer<Results>, Services[S]>>;
  };
  // Typed once the plugin passes the generated result map: before that, Args may be inferred from
  // the handlers alone, and targets outside them must stay allowed.
  interceptors?: ([keyof Results] extends [never]
    ? Interceptor
    : TypedInterceptor<NoInfer<Args>, NoInfer<Results>, NoInfer<Services>>)[];
  /** Set-based handlers for many operations of one operationId at once, beside `handlers`. */
  batchHandlers?: { [K in keyof Args]?: BatchHandler<Args[K], ResultOf<NoInfer<Results>, K>> };
  /**
   * Checks per operationId (or Magento service method) that can refuse an operation before it runs
   * ("this sku does not exist"): answered by `?validateOnly=true` requests before a bulk is sent,
   * and run again right before the handler. Every loaded plugin's check of an operation runs, in
   * load order; the first refusal answers (docs/validate-only.md).
   */
  validate?: { [K in keyof Args]?: Validator<Args[K]> } & {
    [S in keyof NoInfer<Services>]?: Validator<ServiceArgs<Args, Services, S>>;
  };
  /** Names of plugins whose handlers this one replaces on purpose. */
  replaces?: string[];
  /**
   * The entity key of an operation, per operationId: dotted paths into its arguments (`['sku']`,
   * `['product.sku']`). Operations of one key (in one store) run in acceptance order, and a retry
   * holds back the later ones. `null` switches ordering off for that operationId. Without a
   * declaration, a route's path parameters are its key (`PUT /V1/products/{sku}`: `sku`).
   */
  orderKeys?: Record<string, string[] | null>;
}

/** Identity function that gives plugin objects their type. */
export function definePlugin<
  Args extends Record<string, unknown> = Record<string, AnyArgs>,
  Results = NoMap,
  Services extends Record<string, keyof Args> = NoMap,
>(plugin: PluginDefinition<Args, Results, Services>): PluginDefinition<Args, Results, Services> {
  return plugin;
}

/** Marks handlers that are generated stubs: a real handler elsewhere always wins over one. */
export const NOT_IMPLEMENTED: unique symbol = Symbol.for('magento-async.notImplemented');

export type StubHandler = Handler & { [NOT_IMPLEMENTED]: string };

/** What a generated stub calls: fails its operation with a message naming itself. */
export function notImplemented<A = AnyArgs>(where: string): Handler<A, never> {
  const handler = (() => {
    throw new OperationError(`Handler ${where} is not implemented yet: edit ${where.split('#')[0]}`);
  }) as unknown as StubHandler;
  handler[NOT_IMPLEMENTED] = where;
  return handler as unknown as Handler<A, never>;
}

export function isStub(handler: unknown): handler is StubHandler {
  return typeof handler === 'function' && NOT_IMPLEMENTED in handler;
}

/**
 * Thrown by a handler when trying again later may succeed (a lock, an upstream timeout): the
 * operation becomes status 2 and is retried with backoff up to the configured limit.
 */
export class RetriableError extends Error {
  readonly errorCode: number;
  /**
   * Seconds the automatic retry must wait at least (an upstream's `Retry-After`); the retry comes
   * after the later of this and the configured backoff.
   */
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options: { code?: number; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetriableError';
    this.errorCode = options.code ?? 0;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * A failure that retrying cannot fix (status 3), with Magento's numeric `error_code`. Any other
 * thrown error is status 3 with code 0.
 */
export class OperationError extends Error {
  readonly errorCode: number;
  constructor(message: string, options: { code?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'OperationError';
    this.errorCode = options.code ?? 0;
  }
}
