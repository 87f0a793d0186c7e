/**
 * Turns one HTTP request into the operations to store: builds each operation's input exactly as
 * Magento does (CONTRACT §2), validates it against the generated validator, and computes its
 * serialized_data and data_hash. Pure apart from the crypt key: nothing is written here.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Route } from '../routes/types.ts';
import type { StoreScope } from '../kernel/store-scope.ts';
import { E, renderTemplate } from '../errors/catalogue.ts';
import { PhpArray, PhpJsonEncodeError, toJs } from './php-json.ts';
import { buildAsyncInput, buildBulkInputs } from './input.ts';
import { serializedData } from './data-hash.ts';
import { validationError } from './validation-errors.ts';
import { decodeBodyText } from './decode.ts';
import { sealSecrets, secretFieldSet } from './secrets.ts';

/** The shape of an ajv standalone validate function. */
export interface InputValidator {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}

export interface AcceptedItem {
  index: number;
  serialized: string;
  hash: string;
  /**
   * `serialized_data` before its secret fields were sealed: what the consumer would hand the
   * handler, kept only when asked (`keepPlain`, for a validate-only request's plugin checks).
   */
  plain?: string;
}

export interface RejectedItem {
  index: number;
  message: string;
  code: number;
}

export interface PreparedRequest {
  route: Route;
  accepted: AcceptedItem[];
  rejected: RejectedItem[];
}

export interface PrepareOptions {
  kind: 'async' | 'bulk';
  route: Route;
  pathParams: Record<string, string>;
  query: Record<string, string>;
  /** The raw body bytes (`null` or empty: no body); decoded here as PHP's json_decode would. */
  body: Uint8Array | null;
  store: StoreScope;
  validator: InputValidator | undefined;
  cryptKey: Buffer;
  partialAccept: boolean;
  maxBulkItems: number;
  maxJsonDepth: number;
  /** Normalised names of the fields stored sealed (see secrets.ts); default `password`. */
  secretFields?: ReadonlySet<string>;
  /** Keep each accepted item's unsealed `serialized_data` (`AcceptedItem.plain`). */
  keepPlain?: boolean;
}

export function prepareRequest(options: PrepareOptions): PreparedRequest {
  const { route, kind } = options;
  const limitItems = kind === 'bulk' ? { max: options.maxBulkItems, type: route.operationId } : undefined;
  const decoded = decodeBodyText(options.body, { maxJsonDepth: options.maxJsonDepth, maxListItems: limitItems });
  const body = decoded?.value;
  const inputs =
    kind === 'async'
      ? [{ index: 0, input: buildAsyncInput(route, body, options.pathParams, options.query) }]
      : buildBulkInputs(route, body);
  const storeId = String(options.store.id);
  const native = kind === 'bulk' && options.validator && decoded ? nativeElements(decoded.text) : undefined;
  const elements = body instanceof PhpArray ? body.values : [];
  const secrets = options.secretFields ?? secretFieldSet(undefined);
  const accepted: AcceptedItem[] = [];
  const rejected: RejectedItem[] = [];
  for (const { index, input } of inputs) {
    const validator = options.validator;
    if (validator) {
      // An element filterInputData left untouched is exactly what V8's JSON.parse built for it (same
      // keys in the same order, the last duplicate wins in place), at a fraction of toJs's cost.
      const data = native !== undefined && input === elements[index] ? native[index] : toJs(input);
      const error = validate(validator, data, kind === 'async' ? options.pathParams : undefined, route);
      if (error) {
        const reported = validationError(error.errors, {
          index: kind === 'bulk' ? index : undefined,
          data: error.data,
        });
        if (!options.partialAccept) throw reported;
        rejected.push({ index, message: reported.message, code: 0 });
        continue;
      }
    }
    let serialized: string;
    try {
      serialized = serializedData(input, storeId);
    } catch (error) {
      // Magento's MassSchedule rejects just this item (Json::serialize failed) and goes on.
      if (!(error instanceof PhpJsonEncodeError)) throw error;
      rejected.push({ index, message: renderTemplate(E.UNSERIALIZABLE_ITEM.template, [error.message]), code: 0 });
      continue;
    }
    const hash = operationHash(serialized, options.cryptKey);
    const plain = serialized;
    const sealed = sealSecrets(input, secrets, options.cryptKey);
    if (sealed !== input) serialized = serializedData(sealed, storeId);
    accepted.push(options.keepPlain ? { index, serialized, hash, plain } : { index, serialized, hash });
  }
  return { route, accepted, rejected };
}

/**
 * Validates one operation input; the errors and the data they refer to, or null when valid.
 * The validator sees JS values, where PHP sees arrays: an empty PHP array is as much `[]` as `{}`,
 * so a type error on an empty one is retried with the other form before it counts. Path
 * parameters always come from the URL: when filterInputData dropped one as a later duplicate
 * (`{"SKU":1}` beside `sku` from the path), Magento still accepts the request (the service has
 * no such argument), so validation sees the URL's value.
 */
function validate(
  validator: InputValidator,
  data: unknown,
  pathParams: Record<string, string> | undefined,
  route: Route,
): { errors: unknown[]; data: unknown } | null {
  if (validator(data)) return null;
  let current = data;
  if (pathParams && isPlainObject(current)) {
    const missing = route.pathParams.filter(
      (n) => !Object.hasOwn(current as object, n) && Object.hasOwn(pathParams, n),
    );
    if (missing.length > 0) {
      const copy = { ...(current as Record<string, unknown>) };
      for (const n of missing) copy[n] = pathParams[n];
      current = copy;
      if (validator(current)) return null;
    }
  }
  // Bounded: each round turns one more empty container around, and there are at most that many.
  for (let round = 0; round < 64; round++) {
    const errors = validator.errors ?? [];
    const flipped = flipEmptyContainer(current, errors);
    if (flipped === undefined) return { errors, data: current };
    current = flipped;
    if (validator(current)) return null;
  }
  return { errors: validator.errors ?? [], data: current };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `data` with the empty container a type error points at replaced by its other form, or undefined. */
export function flipEmptyContainer(data: unknown, errors: readonly unknown[]): unknown {
  for (const e of errors) {
    const error = e as { keyword?: string; instancePath?: string; params?: { type?: unknown } };
    if (error.keyword !== 'type' || typeof error.instancePath !== 'string') continue;
    const expected = ([] as unknown[]).concat(error.params?.type);
    const path = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map(unescapePointer);
    const value = at(data, path);
    const empty = Array.isArray(value) ? value.length === 0 : isPlainObject(value) && Object.keys(value).length === 0;
    if (!empty) continue;
    const replacement =
      Array.isArray(value) && expected.includes('object')
        ? {}
        : !Array.isArray(value) && expected.includes('array')
          ? []
          : undefined;
    if (replacement === undefined) continue;
    return replaceAt(data, path, replacement);
  }
  return undefined;
}

function unescapePointer(s: string): string {
  return s.replaceAll('~1', '/').replaceAll('~0', '~');
}

function at(data: unknown, path: readonly string[]): unknown {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** A copy of `data` along `path` with the value there replaced (the original is shared elsewhere). */
function replaceAt(data: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  const container = data as Record<string, unknown> | unknown[];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(container) ? [...container] : { ...container };
  const child = replaceAt((container as Record<string, unknown>)[head], rest, value);
  Object.defineProperty(copy, head, { value: child, writable: true, enumerable: true, configurable: true });
  return copy;
}

const hmacKeys = new WeakMap<Buffer, KeyObject>();

/**
 * `dataHash` (HMAC-SHA256, lowercase hex) keyed with a KeyObject made once per crypt key: given a
 * raw Buffer, createHmac imports the key again on every call, which cost 5× the hash itself
 * (≈ 9 ms per 1,000 operations, the largest single item of a bulk accept's profile).
 */
function operationHash(serialized: string, cryptKey: Buffer): string {
  let key = hmacKeys.get(cryptKey);
  if (!key) hmacKeys.set(cryptKey, (key = createSecretKey(cryptKey)));
  return createHmac('sha256', key).update(serialized, 'utf8').digest('hex');
}

/** The bulk body parsed natively, for validation only; undefined when it is not a JSON list. */
function nativeElements(text: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Magento's AsyncResponseInterface, keys and item keys in Magento's order (source notes §3.5). A
 * validate-only answer (`bulkUuid` null) is the same without `bulk_uuid`: no bulk was created.
 */
export function asyncResponse(
  bulkUuid: string | null,
  prepared: Pick<PreparedRequest, 'accepted' | 'rejected'>,
): Record<string, unknown> {
  const items: { index: number; item: Record<string, unknown> }[] = [
    ...prepared.accepted.map((a) => ({ index: a.index, item: { id: a.index, data_hash: a.hash, status: 'accepted' } })),
    ...prepared.rejected.map((r) => ({
      index: r.index,
      item: { id: r.index, data_hash: null, status: 'rejected', error_message: r.message, error_code: r.code },
    })),
  ].sort((a, b) => a.index - b.index);
  const response: Record<string, unknown> = bulkUuid === null ? {} : { bulk_uuid: bulkUuid };
  response.request_items = items.map((i) => i.item);
  response.errors = prepared.rejected.length > 0;
  return response;
}
