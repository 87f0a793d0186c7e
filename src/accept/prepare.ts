/**
 * Turns one HTTP request into the operations to store: builds each operation's input exactly as
 * Magento does (CONTRACT §2), validates it against the generated validator, and computes its
 * serialized_data and data_hash. Pure apart from the crypt key: nothing is written here.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Route } from '../routes/types.ts';
import type { StoreScope } from '../plugins/api.ts';
import { E, WebapiError } from '../errors/catalogue.ts';
import { PhpArray, PhpJsonDepthError, phpJsonDecode, toJs, type PhpValue } from './php-json.ts';
import { buildAsyncInput, buildBulkInputs } from './input.ts';
import { serializedData } from './data-hash.ts';
import { validationError } from './validation-errors.ts';

/** The shape of an ajv standalone validate function. */
export interface InputValidator {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}

export interface AcceptedItem {
  index: number;
  serialized: string;
  hash: string;
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
  body: string | null;
  store: StoreScope;
  validator: InputValidator | undefined;
  cryptKey: Buffer;
  partialAccept: boolean;
  maxBulkItems: number;
  maxJsonDepth: number;
}

export function decodeBody(body: string | null, maxDepth: number): PhpValue | undefined {
  if (body === null) return undefined;
  try {
    // PHP's depth counts the value itself: N nested levels need a limit of N + 1.
    return phpJsonDecode(body, { maxDepth: maxDepth + 1 });
  } catch (error) {
    if (error instanceof PhpJsonDepthError) {
      throw new WebapiError(E.NESTING_TOO_DEEP, { max: maxDepth }, { cause: error });
    }
    throw new WebapiError(E.DECODING_ERROR, undefined, { cause: error });
  }
}

export function prepareRequest(options: PrepareOptions): PreparedRequest {
  const { route, kind } = options;
  const body = decodeBody(options.body, options.maxJsonDepth);
  const inputs =
    kind === 'async'
      ? [{ index: 0, input: buildAsyncInput(route, body, options.pathParams, options.query) }]
      : buildBulkInputs(route, body);
  if (inputs.length > options.maxBulkItems) {
    throw new WebapiError(E.TOO_MANY_ITEMS, { type: route.operationId, max: options.maxBulkItems });
  }
  const storeId = String(options.store.id);
  const native = kind === 'bulk' && options.validator ? nativeElements(options.body) : undefined;
  const elements = body instanceof PhpArray ? body.values : [];
  const accepted: AcceptedItem[] = [];
  const rejected: RejectedItem[] = [];
  for (const { index, input } of inputs) {
    const validator = options.validator;
    if (validator) {
      // An element filterInputData left untouched is exactly what V8's JSON.parse built for it (same
      // keys in the same order, the last duplicate wins in place), at a fraction of toJs's cost.
      const data = native !== undefined && input === elements[index] ? native[index] : toJs(input);
      if (!validator(data)) {
        const error = validationError(validator.errors ?? [], { index: kind === 'bulk' ? index : undefined, data });
        if (!options.partialAccept) throw error;
        rejected.push({ index, message: error.message, code: 0 });
        continue;
      }
    }
    const serialized = serializedData(input, storeId);
    accepted.push({ index, serialized, hash: operationHash(serialized, options.cryptKey) });
  }
  return { route, accepted, rejected };
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
function nativeElements(body: string | null): unknown[] | undefined {
  if (body === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Magento's AsyncResponseInterface, keys and item keys in Magento's order (source notes §3.5). */
export function asyncResponse(bulkUuid: string, prepared: PreparedRequest): Record<string, unknown> {
  const items: { index: number; item: Record<string, unknown> }[] = [
    ...prepared.accepted.map((a) => ({ index: a.index, item: { id: a.index, data_hash: a.hash, status: 'accepted' } })),
    ...prepared.rejected.map((r) => ({
      index: r.index,
      item: { id: r.index, data_hash: null, status: 'rejected', error_message: r.message, error_code: r.code },
    })),
  ].sort((a, b) => a.index - b.index);
  return {
    bulk_uuid: bulkUuid,
    request_items: items.map((i) => i.item),
    errors: prepared.rejected.length > 0,
  };
}
