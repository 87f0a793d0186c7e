/** Inline routes and contexts for plugin tests, independent of generated code. */
import type { HandlerContext, Logger, StoreScope } from '../../src/plugin.ts';
import type { Route, WriteMethod } from '../../src/routes/types.ts';

export function route(method: WriteMethod, path: string, operationId: string, extra: Partial<Route> = {}): Route {
  const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const template = path.replace(/\/$/, '').replace(/\{(\w+)\}/g, ':$1');
  const segments = template.split('/').filter(Boolean);
  return {
    method,
    path,
    template,
    asyncPath: `/async${path.replace(/\/$/, '')}`,
    bulkPath: `/async/bulk${path.replace(/\/\{(\w)(\w*)\}/g, (_, a: string, b: string) => `/by${a.toUpperCase()}${b}`)}`,
    topic: `async.${segments.map((s) => s.replace(/^:/, '')).join('.')}.${method}`,
    entity: segments[1] ?? 'root',
    operationId,
    specOperationId: operationId,
    pathParams,
    parameters: pathParams.map((name) => ({ name, in: 'path' as const, required: true, schema: { type: 'string' } })),
    hasBody: method !== 'DELETE',
    bodyKey: null,
    lastParamTargets: [],
    acl: ['anonymous'],
    ...extra,
  };
}

/** The sample spec's write operations the shipped plugins implement, plus one nobody does. */
export const sampleRoutes: Route[] = [
  route('POST', '/V1/products', 'PostV1Products'),
  route('PUT', '/V1/products/{sku}', 'PutV1ProductsSku', { lastParamTargets: ['product'] }),
  route('DELETE', '/V1/products/{sku}', 'DeleteV1ProductsSku'),
  route('POST', '/V1/products/{sku}/media', 'PostV1ProductsSkuMedia'),
  route('POST', '/V1/customers', 'PostV1Customers'),
  route('POST', '/V1/cmsPage', 'PostV1CmsPage'),
  route('DELETE', '/V1/cmsPage/{pageId}', 'DeleteV1CmsPagePageId'),
];

export const silentLog: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export function context(tx: HandlerContext['tx'], store: StoreScope, operationId = 'Op'): HandlerContext {
  return {
    store,
    tx,
    log: silentLog,
    operation: {
      bulkUuid: '00000000-0000-4000-8000-000000000000',
      key: 0,
      topic: 't',
      operationId,
      attempt: 1,
      idempotencyKey: '00000000-0000-4000-8000-000000000000:0',
    },
    signal: new AbortController().signal,
  };
}

export const NO_CODE: StoreScope = { id: 1, code: null, explicit: false };
export const ALL: StoreScope = { id: 0, code: 'all', explicit: true };
export const DEFAULT: StoreScope = { id: 1, code: 'default', explicit: true };
export const SECOND: StoreScope = { id: 2, code: 'second', explicit: true };
