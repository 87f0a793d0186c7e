/**
 * The shape of a plugin: a plain object of handlers keyed by operationId plus Magento-style
 * interceptors (kept small on purpose, Koa's lesson). Authors reach it through `magento-async/plugin`.
 */
import type { AnyArgs, BatchHandler, Handler, HandlerContext, Validator } from '../kernel/handler.ts';
import type { Requires } from '../kernel/requirement.ts';

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
  /**
   * What an operation references and must not run before, per operationId (or Magento service
   * method, each route of that method; a key naming neither stops the plugins loading): the entity keys it
   * requires (`[{ entity: 'products', key: args.childSku }]`). While an accepted operation of such
   * a key is not final, the operation waits for it (and fails if it fails); with none pending it
   * runs at once. An operation provides its own entity key (`orderKeys`, else the path parameters).
   * Read-only and quick: it runs in the consumer before each run (docs/dependencies.md).
   */
  requires?: { [K in keyof Args]?: Requires<Args[K]> } & {
    [S in keyof NoInfer<Services>]?: Requires<ServiceArgs<Args, Services, S>>;
  };
}

/** Identity function that gives plugin objects their type. */
export function definePlugin<
  Args extends Record<string, unknown> = Record<string, AnyArgs>,
  Results = NoMap,
  Services extends Record<string, keyof Args> = NoMap,
>(plugin: PluginDefinition<Args, Results, Services>): PluginDefinition<Args, Results, Services> {
  return plugin;
}
