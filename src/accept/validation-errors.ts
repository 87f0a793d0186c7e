/**
 * An ajv validation failure → a `WebapiError` in Magento's `ServiceInputProcessor` wording (source
 * notes §3.4), with parameters naming Magento's own placeholders first and, for bulk elements, our
 * additions `index` (element index) and `field` (dotted path, `product.price`, `items.0.qty`).
 *
 * | ajv keyword                              | error                 | Magento parameters        |
 * |------------------------------------------|-----------------------|---------------------------|
 * | required, dependentRequired              | E.FIELD_REQUIRED      | {fieldName}               |
 * | additionalProperties, unevaluatedProperties | E.FIELD_NOT_SUPPORTED | {fieldName}            |
 * | type                                     | E.FIELD_TYPE_INVALID  | {value, type}             |
 * | type, where PHP sees the same type        | E.FIELD_VALUE_INVALID | {value, fieldName}        |
 * | anything else (enum, format, minimum, …) | E.FIELD_VALUE_INVALID | {value, fieldName}        |
 *
 * `value` is the offending value as PHP would print it (`true` → "1", `false`/`null` → "", arrays
 * and objects → "array" as Magento's TypeProcessor says `gettype()`, floats with `precision=14`).
 * `type` uses PHP/Magento type names: integer → int, number → float, boolean → bool.
 * With allErrors off ajv stops at the first failure; the last error reported is the outermost
 * (an `anyOf` summary after its branches), so it is the one used — except an `if` summary, whose
 * preceding `then`/`else` error is more precise.
 */

import { E, WebapiError } from '../errors/catalogue.ts';
import { formatPhpFloat } from './php-json.ts';

/** The fields of ajv's ErrorObject we read (standalone validators' `.errors`). */
export interface AjvErrorLike {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  schemaPath?: string;
  message?: string;
}

export interface ValidationContext {
  /** The bulk element index; when set, `index` and `field` are added to the parameters. */
  index?: number;
  /** The validated value (what ajv saw), used to report the offending value. */
  data: unknown;
}

const TYPE_NAMES: Record<string, string> = { integer: 'int', number: 'float', boolean: 'bool' };

export function validationError(
  errors: readonly AjvErrorLike[] | readonly unknown[] | null | undefined,
  context: ValidationContext,
): WebapiError {
  const error = pickError(errors);
  const segments = error ? decodePointer(error.instancePath) : [];
  const { value, fieldName } = resolve(context.data, segments);
  let definition: (typeof E)[keyof typeof E] = E.FIELD_VALUE_INVALID;
  let parameters: Record<string, unknown>;
  let path = segments;
  const keyword = error?.keyword ?? '';
  const params = error?.params ?? {};

  if ((keyword === 'required' || keyword === 'dependentRequired') && typeof params.missingProperty === 'string') {
    definition = E.FIELD_REQUIRED;
    path = [...segments, params.missingProperty];
    parameters = { fieldName: params.missingProperty };
  } else if (keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    definition = E.FIELD_NOT_SUPPORTED;
    path = [...segments, params.additionalProperty];
    parameters = { fieldName: params.additionalProperty };
  } else if (keyword === 'unevaluatedProperties' && typeof params.unevaluatedProperty === 'string') {
    definition = E.FIELD_NOT_SUPPORTED;
    path = [...segments, params.unevaluatedProperty];
    parameters = { fieldName: params.unevaluatedProperty };
  } else if (keyword === 'type' && phpStringValue(value) !== expectedType(params.type)) {
    definition = E.FIELD_TYPE_INVALID;
    parameters = { value: phpStringValue(value), type: expectedType(params.type) };
  } else {
    // Also a type error PHP cannot tell apart (an object where a list is expected: both are
    // "array"): "value array, type array expected" would contradict itself.
    parameters = { value: phpStringValue(value), fieldName };
  }
  if (context.index !== undefined) {
    parameters.index = context.index;
    parameters.field = path.join('.');
  }
  return new WebapiError(definition, parameters);
}

/** The message as a client reads it (`"product" is required. Enter and try again.`). */
export function renderedMessage(error: WebapiError): string {
  return error.message;
}

/** The `error_message` / `error_code` of a rejected request item (partial accept). */
export function rejectedItem(error: WebapiError): { error_message: string; error_code: number } {
  return { error_message: renderedMessage(error), error_code: error.magentoCode };
}

function pickError(errors: readonly unknown[] | null | undefined): AjvErrorLike | undefined {
  const list = (errors ?? []).filter(isAjvError);
  const last = list[list.length - 1];
  if (last?.keyword === 'if' && list.length > 1) return list[list.length - 2];
  return last;
}

function isAjvError(e: unknown): e is AjvErrorLike {
  if (e === null || typeof e !== 'object') return false;
  const o = e as Record<string, unknown>;
  return (
    typeof o.keyword === 'string' &&
    typeof o.instancePath === 'string' &&
    typeof o.params === 'object' &&
    o.params !== null
  );
}

/** JSON pointer → segments (`/a~1b/0` → ['a/b', '0']). */
function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The value at `segments` and the name of the last object property on the way (not a list index). */
function resolve(data: unknown, segments: string[]): { value: unknown; fieldName: string } {
  let value = data;
  let fieldName = '';
  for (const segment of segments) {
    if (value === null || typeof value !== 'object') {
      value = undefined;
      fieldName = segment;
      continue;
    }
    if (!Array.isArray(value)) fieldName = segment;
    value = Object.prototype.hasOwnProperty.call(value, segment)
      ? (value as Record<string, unknown>)[segment]
      : undefined;
  }
  return { value, fieldName };
}

function expectedType(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join('|');
}

/** PHP's string conversion of a value (`(string)$v`, `gettype()` for arrays). */
export function phpStringValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value ? '1' : '';
    case 'bigint':
      return value.toString();
    case 'number':
      if (Number.isSafeInteger(value)) return String(value);
      if (Number.isNaN(value)) return 'NAN';
      if (!Number.isFinite(value)) return value > 0 ? 'INF' : '-INF';
      return formatPhpFloat(value, 14, 'E');
    case 'undefined':
      return '';
    case 'object':
      return value === null ? '' : 'array';
    default:
      return String(value);
  }
}
