/**
 * The operation input Magento 2.4.8 stores for an async or bulk request (CONTRACT §2, source notes
 * §3.2, §3.3), built on the PHP value model so its json_encode (and so `data_hash`) is exact.
 *
 * Async (non-bulk), `Webapi\Controller\Rest\InputParamsResolver::getInputData`:
 * - body = `(array) json_decode($body, true)`; DELETE bodies are ignored unless the route documents
 *   a body (`hasBody`, our decision); a `bodyKey` route holds the whole body under that key.
 * - PUT: `ParamsOverrider::overrideRequestBodyIdWithPathParam` — unless the last path value is `me`:
 *   when the body has exactly one top-level key, its value is a PHP array and the key is one of
 *   `route.lastParamTargets`, the last path parameter goes into that array, else into the body
 *   root; `substituteParameters` writes the camelCase key when it is set (non-null), else the
 *   snake_case key (in place if present, appended if not).
 * - `array_merge(body, params)`: params are the path parameters (URL order) then the query
 *   parameters the route declares (`in: query`); integer keys of the body are renumbered.
 *   Magento merges every query parameter (§13.8); we merge only declared ones.
 * - PUT only: `filterInputData`.
 *
 * Bulk, `WebapiAsync\Controller\Rest\Asynchronous\InputParamsResolver`: the body must be a list;
 * each PHP-array element, after `filterInputData`, is one operation input; scalars/null are skipped
 * keeping their index; URL placeholders are never injected.
 */

import { E, WebapiError } from '../errors/catalogue.ts';
import type { Route } from '../routes/types.ts';
import { PhpArray, arrayMerge, phpArrayCast, phpStrToLower, type PhpValue } from './php-value.ts';

export interface BulkInput {
  /** The element's index in the request body (also the operation's `id`). */
  index: number;
  input: PhpArray;
}

export function buildAsyncInput(
  route: Route,
  body: PhpValue | undefined,
  pathValues: Record<string, string>,
  query?: Record<string, string>,
): PhpArray {
  const ignoreBody = body === undefined || (route.method === 'DELETE' && !route.hasBody);
  let bodyArray: PhpArray;
  if (ignoreBody) bodyArray = PhpArray.list();
  else if (route.bodyKey !== null) bodyArray = PhpArray.object([[route.bodyKey, body]]);
  else bodyArray = phpArrayCast(body);

  const params = PhpArray.object();
  for (const name of route.pathParams) {
    const value = own(pathValues, name);
    if (value !== undefined) params.set(name, value);
  }
  if (query) {
    for (const p of route.parameters) {
      if (p.in !== 'query') continue;
      const value = own(query, p.name);
      if (value !== undefined) params.set(p.name, value);
    }
  }

  if (route.method === 'PUT') {
    bodyArray = overrideBodyWithLastPathParam(route, bodyArray, pathValues);
    return filterInputData(arrayMerge(bodyArray, params));
  }
  return arrayMerge(bodyArray, params);
}

export function buildBulkInputs(route: Route, body: PhpValue | undefined): BulkInput[] {
  void route; // bulk elements carry their own arguments; the route adds nothing (no forced params yet)
  if (body === undefined) return [];
  // getBodyParams casts the body `(array)` (a scalar becomes a one-element list, null an empty
  // one) and getRequestData's array_merge renumbers integer keys (`{"5":{}}` is a list then).
  let list = phpArrayCast(body);
  if (!list.isList()) list = arrayMerge(list);
  if (!list.isList()) throw new WebapiError(E.BULK_BODY_NOT_ARRAY);
  const out: BulkInput[] = [];
  const values = list.values;
  for (let i = 0; i < values.length; i++) {
    const element = values[i];
    if (element instanceof PhpArray) out.push({ index: i, input: filterInputData(element) });
  }
  return out;
}

// Bulk elements repeat the same few dozen keys thousands of times: normalise each once.
const normalizedKeys = new Map<string, string>();

/** `strtolower(str_replace('_', '', $key))`, cached: the key filterInputData compares. */
export function normalizedKey(key: string): string {
  let n = normalizedKeys.get(key);
  if (n === undefined) {
    n = phpStrToLower(key.replaceAll('_', ''));
    if (normalizedKeys.size >= 10_000) normalizedKeys.clear();
    normalizedKeys.set(key, n);
  }
  return n;
}

/**
 * Magento 2.4.8 `filterInputData`: within every associative array (recursively, lists included),
 * drop a key that collides with an earlier one once lower-cased (ASCII) with `_` removed; the first
 * occurrence wins. Integer keys are compared as they are. Returns new arrays; the input is untouched.
 */
export function filterInputData(array: PhpArray): PhpArray {
  const n = array.size;
  if (array.isList()) {
    let out: PhpArray | undefined;
    for (let i = 0; i < n; i++) {
      const v = array.values[i];
      if (v instanceof PhpArray) {
        const filtered = filterInputData(v);
        // Clone only on a change: callers rely on identity to know nothing was dropped.
        if (filtered !== v) (out ??= array.clone()).values[i] = filtered;
      }
    }
    return out ?? array;
  }
  const seen = new Set<string>();
  const keys: string[] = [];
  const values: PhpValue[] = [];
  let changed = false;
  for (let i = 0; i < n; i++) {
    const key = array.keyAt(i);
    // Int keys are digits and '-', so normalising every key the same way is equivalent to PHP's
    // `is_string($key) ? strtolower(str_replace('_', '', $key)) : $key` (both land in one key space).
    const normalized = normalizedKey(key);
    if (seen.has(normalized)) {
      changed = true;
      continue;
    }
    seen.add(normalized);
    let v = array.values[i] as PhpValue;
    if (v instanceof PhpArray) {
      const filtered = filterInputData(v);
      if (filtered !== v) changed = true;
      v = filtered;
    }
    keys.push(key);
    values.push(v);
  }
  return changed ? new PhpArray(keys, values, array.fromList) : array;
}

/** `ParamsOverrider::overrideRequestBodyIdWithPathParam` (PUT), on a copy. */
function overrideBodyWithLastPathParam(route: Route, body: PhpArray, pathValues: Record<string, string>): PhpArray {
  const lastName = route.pathParams[route.pathParams.length - 1];
  if (lastName === undefined) return body;
  const lastValue = own(pathValues, lastName);
  if (lastValue === undefined || lastValue === 'me') return body; // "Self apis should not be overridden"
  const out = body.clone();
  if (out.size === 1) {
    const single = out.values[0];
    const key = out.keyAt(0);
    if (single instanceof PhpArray && route.lastParamTargets.includes(key)) {
      const target = single.clone();
      substituteParameter(target, lastName, lastValue);
      out.values[0] = target;
      return out;
    }
  }
  substituteParameter(out, lastName, lastValue);
  return out;
}

/** `ParamsOverrider::substituteParameters`: the camelCase key if set (isset: present and non-null), else snake_case. */
function substituteParameter(target: PhpArray, name: string, value: string): void {
  const camel = snakeCaseToCamelCase(name);
  const current = target.get(camel);
  if (current !== undefined && current !== null) target.set(camel, value);
  else target.set(camelCaseToSnakeCase(name), value);
}

/** `SimpleDataObjectConverter::camelCaseToSnakeCase`: `strtolower(preg_replace('/(.)([A-Z])/', '$1_$2', $name))`. */
export function camelCaseToSnakeCase(name: string): string {
  return phpStrToLower(name.replace(/(.)([A-Z])/g, '$1_$2'));
}

/** `SimpleDataObjectConverter::snakeCaseToCamelCase`: `lcfirst(str_replace(' ', '', ucwords(str_replace('_', ' ', $s))))`. */
export function snakeCaseToCamelCase(name: string): string {
  const words = name
    .replaceAll('_', ' ')
    .replace(/(^|[ \t\r\n\f\v])([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
  const joined = words.replaceAll(' ', '');
  const first = joined.charCodeAt(0);
  return first >= 0x41 && first <= 0x5a ? joined[0]!.toLowerCase() + joined.slice(1) : joined;
}

function own(record: Record<string, string>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}
