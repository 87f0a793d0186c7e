/**
 * Magento's request processor pool (source notes §1.1, §3.1), as a pure function: given the method
 * and the path after `/rest[/<store>]`, which processor handles the request, or which error.
 * Order matters and is Magento's: schema processors, sync (`/V<n>`), async, bulk schema, bulk.
 */
import { E, WebapiError } from '../errors/catalogue.ts';

export type RequestKind = 'asyncSchema' | 'bulkSchema' | 'sync' | 'async' | 'bulk';

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);

export interface RouteTableTraits {
  /** Whether any route answers PATCH. */
  patch: boolean;
  /**
   * Whether some routes have no `V<n>` version segment (OpenAPI specs beyond Magento, e.g.
   * `/companies/{id}`): their async paths are `/async/companies/...`, which Magento's `/async/V…`
   * pattern would refuse. For Magento's all-versioned specs the pattern stays exactly Magento's.
   */
  unversioned: boolean;
}

export function classifyRequest(method: string, path: string, traits: RouteTableTraits): RequestKind {
  const patchRoutesExist = traits.patch;
  // Magento's request object only knows GET/POST/PUT/DELETE; we add PATCH when the spec has PATCH
  // operations (OpenAPI specs beyond Magento), and answer 405 exactly as Magento otherwise.
  if (!KNOWN_METHODS.has(method) || (method === 'PATCH' && !patchRoutesExist)) {
    throw new WebapiError(E.METHOD_NOT_SUPPORTED, [method]);
  }
  const trimmed = path.replace(/^\/+/, '');
  if (trimmed.startsWith('async/schema')) return 'asyncSchema';
  if (/^\/V\d+/.test(path)) return 'sync';
  const isBulk = (traits.unversioned ? /^\/async\/bulk\/./ : /^\/async\/bulk\/V./).test(path);
  const isAsync = !isBulk && (traits.unversioned ? /^\/async\/./ : /^\/async\/V./).test(path);
  if (method !== 'GET' && isAsync) return 'async';
  if (trimmed.startsWith('async/bulk/schema')) return 'bulkSchema';
  if (method !== 'GET' && isBulk) return 'bulk';
  throw new WebapiError(E.NOT_PROCESSABLE);
}
