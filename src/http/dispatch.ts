/**
 * Magento's request processor pool (source notes §1.1, §3.1), as a pure function: given the method
 * and the path after `/rest[/<store>]`, which processor handles the request, or which error.
 * Order matters and is Magento's: schema processors, sync (`/V<n>`), async, bulk schema, bulk.
 */
import { E, WebapiError } from '../errors/catalogue.ts';

export type RequestKind = 'asyncSchema' | 'bulkSchema' | 'sync' | 'async' | 'bulk';

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);

export function classifyRequest(method: string, path: string, patchRoutesExist: boolean): RequestKind {
  // Magento's request object only knows GET/POST/PUT/DELETE; we add PATCH when the spec has PATCH
  // operations (OpenAPI specs beyond Magento), and answer 405 exactly as Magento otherwise.
  if (!KNOWN_METHODS.has(method) || (method === 'PATCH' && !patchRoutesExist)) {
    throw new WebapiError(E.METHOD_NOT_SUPPORTED, [method]);
  }
  const trimmed = path.replace(/^\/+/, '');
  if (trimmed.startsWith('async/schema')) return 'asyncSchema';
  if (/^\/V\d+/.test(path)) return 'sync';
  if (method !== 'GET' && /^\/async\/V./.test(path)) return 'async';
  if (trimmed.startsWith('async/bulk/schema')) return 'bulkSchema';
  if (method !== 'GET' && /^\/async\/bulk\/V./.test(path)) return 'bulk';
  throw new WebapiError(E.NOT_PROCESSABLE);
}
