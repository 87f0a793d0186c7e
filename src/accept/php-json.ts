/**
 * PHP-faithful JSON: `json_decode($body, true)` and `json_encode($value)` with default flags, as
 * Magento uses them to build `serialized_data` (source notes §4). `data_hash` depends on the output
 * byte for byte. Cross-checked against PHP 8.2 (`php -r`), see test/accept/php-json.test.ts.
 *
 * Decoding (PHP ext/json scanner rules):
 * - RFC 8259 grammar; whitespace is only space, tab, LF, CR; no BOM; nothing after the value.
 * - Unescaped control characters (< 0x20) inside strings are an error (JSON_ERROR_CTRL_CHAR).
 * - `\uXXXX` escapes must form valid UTF-16: a lone surrogate escape (`"\ud800"`, `"\udc00"`) is an
 *   error (PHP 7.0+: JSON_ERROR_UTF16 "Single unpaired UTF-16 surrogate in unicode escape").
 *   A raw lone surrogate in the JS string stands for invalid UTF-8 and is an error (JSON_ERROR_UTF8).
 * - Numbers without `.`/`e`/`E` are ints; beyond the int64 range they become floats (no
 *   JSON_BIGINT_AS_STRING). `-0` is int 0. Numbers with `.`/`e`/`E` are floats, even when integral.
 * - Objects become ordered PHP arrays; a repeated key keeps its first position, takes the last value.
 * - Nesting: PHP's `$depth` semantics (default 512): N nested arrays/objects need maxDepth > N
 *   (`[1]` fails at depth 1; 511 levels pass at 512), else `PhpJsonDepthError`.
 * - An unterminated string is JSON_ERROR_CTRL_CHAR, as in PHP (its scanner hits the final NUL).
 *
 * Encoding (default flags): no whitespace; `/` → `\/`; non-ASCII → `\uxxxx` (lowercase, surrogate
 * pairs); `\b \f \n \r \t`, other controls `\u00xx`; `"` and `\` escaped; `< > & '` and DEL as is.
 * Floats use `serialize_precision = -1`: shortest round-trip digits, exponent form `1.0e+25` /
 * `1.0e-7` when the decimal exponent is > 17 or < -3 positions, and NO `.0` for integral floats
 * (`10.0` → `10`, `-0.0` → `-0`): `.0` is only added with JSON_PRESERVE_ZERO_FRACTION, which
 * Magento's `Json::serialize` does not pass (option `preserveZeroFraction`).
 * INF/NAN and lone surrogates (invalid UTF-8 in PHP) throw, as `json_encode` fails on them.
 */

import { PhpArray, PhpFloat, type PhpValue } from './php-value.ts';

export type { PhpValue } from './php-value.ts';
export { PhpArray, PhpFloat } from './php-value.ts';

/** PHP's json_last_error() constant names for the failures we reproduce. */
export type PhpJsonErrorCode =
  | 'JSON_ERROR_SYNTAX'
  | 'JSON_ERROR_CTRL_CHAR'
  | 'JSON_ERROR_UTF8'
  | 'JSON_ERROR_UTF16'
  | 'JSON_ERROR_DEPTH'
  | 'JSON_ERROR_INF_OR_NAN';

const PHP_MESSAGES: Record<PhpJsonErrorCode, string> = {
  JSON_ERROR_SYNTAX: 'Syntax error',
  JSON_ERROR_CTRL_CHAR: 'Control character error, possibly incorrectly encoded',
  JSON_ERROR_UTF8: 'Malformed UTF-8 characters, possibly incorrectly encoded',
  JSON_ERROR_UTF16: 'Single unpaired UTF-16 surrogate in unicode escape',
  JSON_ERROR_DEPTH: 'Maximum stack depth exceeded',
  JSON_ERROR_INF_OR_NAN: 'Inf and NaN cannot be JSON encoded',
};

/** Invalid JSON (Magento: 400 `Decoding error.`). `message` is PHP's `json_last_error_msg()`. */
export class PhpJsonSyntaxError extends SyntaxError {
  readonly phpCode: PhpJsonErrorCode;
  /** UTF-16 offset in the text where the problem was found. */
  readonly position: number;
  constructor(phpCode: PhpJsonErrorCode, position: number) {
    super(PHP_MESSAGES[phpCode]);
    this.name = 'PhpJsonSyntaxError';
    this.phpCode = phpCode;
    this.position = position;
  }
}

/** Nesting deeper than the configured maximum (checked before any further parsing). */
export class PhpJsonDepthError extends PhpJsonSyntaxError {
  readonly maxDepth: number;
  constructor(maxDepth: number, position: number) {
    super('JSON_ERROR_DEPTH', position);
    this.name = 'PhpJsonDepthError';
    this.maxDepth = maxDepth;
  }
}

/** `json_encode` would return false (INF/NAN, invalid UTF-8). */
export class PhpJsonEncodeError extends Error {
  readonly phpCode: PhpJsonErrorCode;
  constructor(phpCode: PhpJsonErrorCode) {
    super(PHP_MESSAGES[phpCode]);
    this.name = 'PhpJsonEncodeError';
    this.phpCode = phpCode;
  }
}

/** The top-level list holds more elements than allowed (checked while parsing, before the rest). */
export class PhpJsonListTooLongError extends Error {
  readonly maxItems: number;
  constructor(maxItems: number) {
    super(`The list holds more than ${maxItems} elements`);
    this.name = 'PhpJsonListTooLongError';
    this.maxItems = maxItems;
  }
}

export interface DecodeOptions {
  /** PHP's `$depth` (default 512): N nested arrays/objects need maxDepth > N. */
  maxDepth?: number;
  /**
   * Most elements of a top-level list (not PHP: a bound of ours). Parsing stops at the first one
   * beyond it, so a huge `[0,0,0,…]` is never built.
   */
  maxListItems?: number;
}

// ---------------------------------------------------------------------------------------------
// Decoder: one pass over the string with charCodeAt; module-level state (the parser is sync and
// not re-entrant), recursive descent bounded by maxDepth.

let src = '';
let pos = 0;
let len = 0;
let depth = 0;
let maxDepth = 512;
let maxListItems = Infinity;

const SMALL_OBJECT = 24;

export function phpJsonDecode(text: string, options: DecodeOptions = {}): PhpValue {
  src = text;
  pos = 0;
  len = text.length;
  depth = 0;
  maxDepth = options.maxDepth ?? 512;
  maxListItems = options.maxListItems ?? Infinity;
  try {
    skipWs();
    const value = parseValue();
    skipWs();
    if (pos !== len) fail('JSON_ERROR_SYNTAX');
    return value;
  } finally {
    src = '';
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode raw body bytes: invalid UTF-8 is JSON_ERROR_UTF8, a BOM stays and is a syntax error (as PHP). */
export function phpJsonDecodeBytes(bytes: Uint8Array, options: DecodeOptions = {}): PhpValue {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new PhpJsonSyntaxError('JSON_ERROR_UTF8', 0);
  }
  return phpJsonDecode(text, options);
}

function fail(code: PhpJsonErrorCode, at: number = pos): never {
  throw new PhpJsonSyntaxError(code, at);
}

function skipWs(): void {
  while (pos < len) {
    const c = src.charCodeAt(pos);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
    else break;
  }
}

function parseValue(): PhpValue {
  const c = src.charCodeAt(pos);
  switch (c) {
    case 0x22: // "
      return parseString();
    case 0x7b: // {
      return parseObject();
    case 0x5b: // [
      return parseArray();
    case 0x74: // t
      if (src.startsWith('true', pos)) {
        pos += 4;
        return true;
      }
      return fail('JSON_ERROR_SYNTAX');
    case 0x66: // f
      if (src.startsWith('false', pos)) {
        pos += 5;
        return false;
      }
      return fail('JSON_ERROR_SYNTAX');
    case 0x6e: // n
      if (src.startsWith('null', pos)) {
        pos += 4;
        return null;
      }
      return fail('JSON_ERROR_SYNTAX');
    default:
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
      return fail('JSON_ERROR_SYNTAX');
  }
}

/** PHP counts the scalar level too: N nested arrays/objects need `$depth` > N. */
function enter(): void {
  if (++depth >= maxDepth) throw new PhpJsonDepthError(maxDepth, pos);
}

function parseArray(): PhpArray {
  enter();
  pos++; // [
  const values: PhpValue[] = [];
  skipWs();
  if (src.charCodeAt(pos) === 0x5d) {
    pos++;
    depth--;
    return PhpArray.list(values);
  }
  const bounded = depth === 1 && maxListItems !== Infinity;
  for (;;) {
    skipWs();
    if (bounded && values.length >= maxListItems) throw new PhpJsonListTooLongError(maxListItems);
    values.push(parseValue());
    skipWs();
    const c = src.charCodeAt(pos);
    if (c === 0x2c) {
      pos++;
      continue;
    }
    if (c === 0x5d) {
      pos++;
      depth--;
      return PhpArray.list(values);
    }
    fail('JSON_ERROR_SYNTAX');
  }
}

function parseObject(): PhpArray {
  enter();
  pos++; // {
  const keys: string[] = [];
  const values: PhpValue[] = [];
  let index: Map<string, number> | undefined;
  skipWs();
  if (src.charCodeAt(pos) === 0x7d) {
    pos++;
    depth--;
    return new PhpArray(keys, values, false);
  }
  for (;;) {
    skipWs();
    if (src.charCodeAt(pos) !== 0x22) fail('JSON_ERROR_SYNTAX');
    const key = canonicalKey(parseString());
    skipWs();
    if (src.charCodeAt(pos) !== 0x3a) fail('JSON_ERROR_SYNTAX');
    pos++;
    skipWs();
    const value = parseValue();
    // Duplicate keys: first position, last value (PHP array semantics).
    let at: number;
    if (index === undefined) {
      at = keys.indexOf(key);
      if (at === -1 && keys.length >= SMALL_OBJECT) {
        index = new Map();
        for (let i = 0; i < keys.length; i++) index.set(keys[i] as string, i);
      }
    } else {
      at = index.get(key) ?? -1;
    }
    if (at === -1) {
      index?.set(key, keys.length);
      keys.push(key);
      values.push(value);
    } else {
      values[at] = value;
    }
    skipWs();
    const c = src.charCodeAt(pos);
    if (c === 0x2c) {
      pos++;
      continue;
    }
    if (c === 0x7d) {
      pos++;
      depth--;
      return new PhpArray(keys, values, false);
    }
    fail('JSON_ERROR_SYNTAX');
  }
}

/**
 * Keys are kept as strings; PHP's int keys are the canonical decimal strings, which are already
 * their own canonical form, so no conversion is needed (`"05"` stays the string key "05").
 */
function canonicalKey(key: string): string {
  return key;
}

function parseString(): string {
  const start = ++pos; // after the opening quote
  for (;;) {
    if (pos >= len) fail('JSON_ERROR_CTRL_CHAR');
    const c = src.charCodeAt(pos);
    if (c === 0x22) {
      const s = src.slice(start, pos);
      pos++;
      return s;
    }
    if (c === 0x5c) return parseEscapedString(start);
    if (c < 0x20) fail('JSON_ERROR_CTRL_CHAR');
    if ((c & 0xf800) === 0xd800) checkRawSurrogate(c);
    pos++;
  }
}

function checkRawSurrogate(c: number): void {
  // A lone surrogate in the JS string cannot come from valid UTF-8 bytes.
  if (c <= 0xdbff) {
    const d = src.charCodeAt(pos + 1);
    if (d >= 0xdc00 && d <= 0xdfff) {
      pos++; // skip the high half; the caller skips the low half
      return;
    }
  }
  fail('JSON_ERROR_UTF8');
}

function parseEscapedString(start: number): string {
  let out = src.slice(start, pos);
  let chunk = pos;
  for (;;) {
    if (pos >= len) fail('JSON_ERROR_CTRL_CHAR');
    const c = src.charCodeAt(pos);
    if (c === 0x22) {
      out += src.slice(chunk, pos);
      pos++;
      return out;
    }
    if (c === 0x5c) {
      out += src.slice(chunk, pos);
      const e = src.charCodeAt(pos + 1);
      pos += 2;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const u = readHex4(pos);
          pos += 4;
          if (u >= 0xd800 && u <= 0xdbff) {
            if (src.charCodeAt(pos) !== 0x5c || src.charCodeAt(pos + 1) !== 0x75) fail('JSON_ERROR_UTF16');
            const low = readHex4(pos + 2);
            if (low < 0xdc00 || low > 0xdfff) fail('JSON_ERROR_UTF16');
            pos += 6;
            out += String.fromCharCode(u, low);
          } else if (u >= 0xdc00 && u <= 0xdfff) {
            fail('JSON_ERROR_UTF16');
          } else {
            out += String.fromCharCode(u);
          }
          break;
        }
        default:
          fail('JSON_ERROR_SYNTAX', pos - 2);
      }
      chunk = pos;
      continue;
    }
    if (c < 0x20) fail('JSON_ERROR_CTRL_CHAR');
    if ((c & 0xf800) === 0xd800) checkRawSurrogate(c);
    pos++;
  }
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function readHex4(at: number): number {
  if (at + 4 > len) fail('JSON_ERROR_SYNTAX', at);
  const a = hexVal(src.charCodeAt(at));
  const b = hexVal(src.charCodeAt(at + 1));
  const c = hexVal(src.charCodeAt(at + 2));
  const d = hexVal(src.charCodeAt(at + 3));
  if ((a | b | c | d) < 0) fail('JSON_ERROR_SYNTAX', at);
  return (a << 12) | (b << 8) | (c << 4) | d;
}

const INT64_LIMIT_DIGITS = '9223372036854775808';

function parseNumber(): PhpValue {
  const start = pos;
  let neg = false;
  if (src.charCodeAt(pos) === 0x2d) {
    neg = true;
    pos++;
  }
  const digitsStart = pos;
  let c = src.charCodeAt(pos);
  let n = 0;
  if (c === 0x30) {
    pos++;
  } else if (c >= 0x31 && c <= 0x39) {
    do {
      n = n * 10 + (c - 0x30);
      c = src.charCodeAt(++pos);
    } while (c >= 0x30 && c <= 0x39);
  } else {
    fail('JSON_ERROR_SYNTAX');
  }
  const intDigits = pos - digitsStart;
  let isFloat = false;
  c = src.charCodeAt(pos);
  if (c === 0x2e) {
    isFloat = true;
    c = src.charCodeAt(++pos);
    if (!(c >= 0x30 && c <= 0x39)) fail('JSON_ERROR_SYNTAX');
    do c = src.charCodeAt(++pos);
    while (c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45) {
    isFloat = true;
    c = src.charCodeAt(++pos);
    if (c === 0x2b || c === 0x2d) c = src.charCodeAt(++pos);
    if (!(c >= 0x30 && c <= 0x39)) fail('JSON_ERROR_SYNTAX');
    do c = src.charCodeAt(++pos);
    while (c >= 0x30 && c <= 0x39);
  }
  if (!isFloat) {
    if (intDigits <= 15) return neg ? (n === 0 ? 0 : -n) : n;
    const text = src.slice(start, pos);
    // PHP: 19 digits compared with "9223372036854775808" (only the negative may equal it), more → float.
    const digits = src.slice(digitsStart, pos);
    const bigint =
      intDigits > 19 || (intDigits === 19 && (digits > INT64_LIMIT_DIGITS || (digits === INT64_LIMIT_DIGITS && !neg)));
    if (!bigint) {
      const v = Number(text);
      return Number.isSafeInteger(v) ? v : BigInt(text);
    }
    return new PhpFloat(Number(text));
  }
  const v = Number(src.slice(start, pos));
  return Number.isInteger(v) ? new PhpFloat(v) : v;
}

// ---------------------------------------------------------------------------------------------
// Model → plain JS

/**
 * Plain JS values for schema validation and handlers: objects are ordinary objects whose keys are
 * all own data properties (`__proto__` included, never a prototype), JSON lists are arrays, `{}`
 * stays `{}`, floats become numbers, bigint ints become (possibly rounded) numbers.
 */
export function toJs(value: PhpValue): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? Number(value) : value;
  }
  if (value instanceof PhpFloat) return value.value;
  const values = value.values;
  const n = values.length;
  if (value.fromList && value.isList()) {
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = toJs(values[i] as PhpValue);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = value.keyAt(i);
    const v = toJs(values[i] as PhpValue);
    if (key === '__proto__') {
      Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
    } else {
      out[key] = v;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoder

export interface EncodeOptions {
  /** PHP's JSON_PRESERVE_ZERO_FRACTION (`10.0` instead of `10`). Magento does NOT use it. */
  preserveZeroFraction?: boolean;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /[\u0000-\u001f"\\/\u0080-\uffff]/;
const ASCII_ESCAPES: string[] = [];
for (let i = 0; i < 0x80; i++) {
  ASCII_ESCAPES.push(i < 0x20 ? '\\u' + i.toString(16).padStart(4, '0') : String.fromCharCode(i));
}
ASCII_ESCAPES[0x08] = '\\b';
ASCII_ESCAPES[0x0c] = '\\f';
ASCII_ESCAPES[0x0a] = '\\n';
ASCII_ESCAPES[0x0d] = '\\r';
ASCII_ESCAPES[0x09] = '\\t';
ASCII_ESCAPES[0x22] = '\\"';
ASCII_ESCAPES[0x5c] = '\\\\';
ASCII_ESCAPES[0x2f] = '\\/';

function hex4(c: number): string {
  return '\\u' + (c < 0x1000 ? c.toString(16).padStart(4, '0') : c.toString(16));
}

/** A PHP-escaped JSON string literal, quotes included. */
export function encodePhpString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let chunk = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x2f) continue;
      out += s.slice(chunk, i) + (ASCII_ESCAPES[c] as string);
    } else if ((c & 0xf800) === 0xd800) {
      const d = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) throw new PhpJsonEncodeError('JSON_ERROR_UTF8');
      out += s.slice(chunk, i) + hex4(c) + hex4(d);
      i++;
    } else {
      out += s.slice(chunk, i) + hex4(c);
    }
    chunk = i + 1;
  }
  return out + s.slice(chunk) + '"';
}

/**
 * PHP's `php_gcvt(value, precision, '.', expChar)`: `precision` -1 means serialize_precision -1
 * (shortest round-trip digits, exponent threshold 17), otherwise that many significant digits.
 */
export function formatPhpFloat(value: number, precision = -1, expChar = 'e', zeroFraction = false): string {
  if (!Number.isFinite(value)) throw new PhpJsonEncodeError('JSON_ERROR_INF_OR_NAN');
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const abs = Math.abs(value);
  let digits: string;
  let decpt: number; // value = 0.DIGITS × 10^decpt
  const threshold = precision === -1 ? 17 : precision;
  if (abs === 0) {
    digits = '0';
    decpt = 1;
  } else {
    const exp = precision === -1 ? abs.toExponential() : abs.toExponential(precision - 1);
    const e = exp.indexOf('e');
    digits = exp.slice(0, e).replace('.', '');
    if (precision !== -1) digits = digits.replace(/0+$/, '') || '0';
    decpt = Number(exp.slice(e + 1)) + 1;
  }
  let out: string;
  if (decpt < 0 ? decpt < -3 : decpt > threshold) {
    const e = decpt - 1;
    out = digits[0] + '.' + (digits.length > 1 ? digits.slice(1) : '0') + expChar + (e < 0 ? '-' : '+') + Math.abs(e);
  } else if (decpt < 0) {
    out = '0.' + '0'.repeat(-decpt) + digits;
  } else if (digits.length <= decpt) {
    out = digits + '0'.repeat(decpt - digits.length);
    if (zeroFraction) out += '.0';
  } else {
    out = (decpt === 0 ? '0' : digits.slice(0, decpt)) + '.' + digits.slice(decpt);
  }
  return sign + out;
}

const TWO_63 = 2 ** 63;

/**
 * `json_encode($value)` with default flags. Accepts the PHP model and plain JS values: JS objects
 * → `{...}` (own enumerable keys; `undefined`, functions and symbols skipped), arrays → `[...]`,
 * integral numbers (|n| < 2^63) as ints, other numbers as floats, bigint as int, `toJSON()` honoured.
 */
export function phpJsonEncode(value: unknown, options: EncodeOptions = {}): string {
  const zeroFraction = options.preserveZeroFraction === true;
  const out = encodeValue(value, zeroFraction);
  if (out === undefined) throw new TypeError('phpJsonEncode: value is not encodable');
  return out;
}

function encodeNumber(n: number, zeroFraction: boolean): string {
  if (Number.isInteger(n)) {
    if (Number.isSafeInteger(n)) return Object.is(n, -0) ? '0' : String(n);
    if (Math.abs(n) < TWO_63) return BigInt(n).toString();
  }
  return formatPhpFloat(n, -1, 'e', zeroFraction);
}

function encodeValue(value: unknown, zeroFraction: boolean): string | undefined {
  switch (typeof value) {
    case 'string':
      return encodePhpString(value);
    case 'number':
      return encodeNumber(value, zeroFraction);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  if (value instanceof PhpArray) return encodePhpArray(value, zeroFraction);
  if (value instanceof PhpFloat) return formatPhpFloat(value.value, -1, 'e', zeroFraction);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += encodeValue(value[i], zeroFraction) ?? 'null';
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.toJSON === 'function') return encodeValue((obj.toJSON as () => unknown)(), zeroFraction);
  let out = '{';
  let first = true;
  for (const key of Object.keys(obj)) {
    const v = encodeValue(obj[key], zeroFraction);
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += encodePhpString(key) + ':' + v;
  }
  return out + '}';
}

function encodePhpArray(array: PhpArray, zeroFraction: boolean): string {
  const values = array.values;
  const n = values.length;
  if (n === 0) return '[]';
  if (array.isList()) {
    let out = '[';
    for (let i = 0; i < n; i++) {
      if (i > 0) out += ',';
      out += encodeValue(values[i], zeroFraction);
    }
    return out + ']';
  }
  let out = '{';
  for (let i = 0; i < n; i++) {
    if (i > 0) out += ',';
    out += encodePhpString(array.keyAt(i)) + ':' + encodeValue(values[i], zeroFraction);
  }
  return out + '}';
}
