/**
 * The route table: the one structure codegen produces and the runtime consumes. Everything the
 * HTTP layer, the validators, the queue and the consumer need to know about a write operation of
 * the synchronous spec is here, so no runtime code reads the OpenAPI document again.
 */

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteParameter {
  /** Name exactly as in the spec (`sku`, `customer_id`). */
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  /** JSON Schema of the value (`{type: 'string'}`); validators are compiled from it. */
  schema: Record<string, unknown>;
}

export interface Route {
  method: WriteMethod;
  /** The synchronous path exactly as the spec spells it (`/V1/products/{sku}`, `/V1/invoices/`). */
  path: string;
  /** Normalised template used for matching: no trailing slash, no `#fragment`, `{p}` → `:p`. */
  template: string;
  /** `/async` + the spec's path, `{param}` and a trailing slash kept (`/async/V1/products/{sku}`, `/async/V1/carts/`). */
  asyncPath: string;
  /** `/async/bulk` + the spec's path with every `/{param}` → `/by<Param>` (CONTRACT §1), trailing slash kept. */
  bulkPath: string;
  /** Topic name (CONTRACT §4): `async.V1.products.sku.PUT` or Magento's service form. */
  topic: string;
  /** Entity the operation belongs to: first path segment after the version (`products`). */
  entity: string;
  /** Unique, valid TypeScript identifier; stable for the same spec. */
  operationId: string;
  /** The spec's own operationId when it had one (may be invalid or duplicated). */
  specOperationId: string | null;
  /** Path parameter names in URL order. */
  pathParams: string[];
  parameters: RouteParameter[];
  /** True when the operation declares a request body. */
  hasBody: boolean;
  /**
   * How the body joins the operation's input. `null`: the body is an object whose properties are
   * top-level arguments beside the path parameters (Magento: `{product, saveOptions}`). A string:
   * the body is not an object (array, scalar) and is kept whole under that key.
   */
  bodyKey: string | null;
  /**
   * Top-level body properties whose (object) schema has a property named like the last path
   * parameter. Magento's PUT rule: when the request body holds a single top-level object and its
   * key is listed here, the last path parameter's value is pushed into that object (CONTRACT §2).
   */
  lastParamTargets: string[];
  /** ACL resources; `['anonymous']` means no token is needed. Never empty. */
  acl: string[];
  /**
   * Input fields stored encrypted while the operation may run and erased once it is final
   * (src/accept/secrets.ts), beyond `password`, which always is. Matched by name at any depth,
   * case and `_` ignored. Absent: none beyond `password`.
   */
  secretFields?: string[];
  /**
   * The Magento service method the route calls (`Magento\Catalog\Api\ProductRepositoryInterface::save`),
   * when the spec or Magento's core route table names one (codegen/services.ts). Interceptors and
   * handlers may target it instead of the operationId (src/plugins/targets.ts).
   */
  service?: string;
}
