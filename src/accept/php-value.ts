/**
 * An ordered model of the PHP values `json_decode($body, true)` produces, so the input Magento
 * stores (and hashes) can be rebuilt byte for byte (source notes §3.2–§4).
 *
 * - `null`, `boolean`, `string`: themselves.
 * - PHP int: a JS `number` that is an integer (safe range), or a `bigint` beyond ±2^53 (up to ±2^63).
 * - PHP float: a non-integral JS `number`, or a `PhpFloat` wrapper when the value is integral
 *   (`10.0`, `-0.0`, `1e20`), since a bare integral number means int.
 * - PHP array: `PhpArray`, ordered keys (int keys written in their canonical decimal form, as PHP
 *   converts `"5"` to `5`) plus `fromList`, telling whether it came from a JSON list (for `toJs`).
 *
 * Keys are never used as JS object properties, so `__proto__` and `constructor` are plain data.
 */

export type PhpValue = null | boolean | string | number | bigint | PhpFloat | PhpArray;

/** A PHP float whose value is integral (`10.0`): kept apart from the int `10`. */
export class PhpFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

/** Above this many keys, key lookups build a Map instead of scanning. */
const INDEX_THRESHOLD = 16;

export class PhpArray {
  /** `null`: the keys are implicitly 0..n-1 (a list that was never re-keyed). */
  private _keys: string[] | null;
  readonly values: PhpValue[];
  /** True when the array was decoded from a JSON list (`[...]`); `toJs` gives a JS array then. */
  readonly fromList: boolean;
  private _index: Map<string, number> | undefined;

  /** Use `PhpArray.list` / `PhpArray.object`; `keys` must be unique (not checked here). */
  constructor(keys: string[] | null, values: PhpValue[], fromList: boolean) {
    this._keys = keys;
    this.values = values;
    this.fromList = fromList;
    this._index = undefined;
  }

  static list(values: PhpValue[] = []): PhpArray {
    return new PhpArray(null, values, true);
  }

  /** An associative array from entries; a repeated key keeps its first position, last value. */
  static object(entries: Iterable<readonly [string | number, PhpValue]> = []): PhpArray {
    const array = new PhpArray([], [], false);
    for (const [key, value] of entries) array.set(key, value);
    return array;
  }

  get size(): number {
    return this.values.length;
  }

  /** The key at position `i` (canonical string form). */
  keyAt(i: number): string {
    return this._keys === null ? String(i) : (this._keys[i] as string);
  }

  keys(): string[] {
    if (this._keys !== null) return this._keys.slice();
    const out = new Array<string>(this.values.length);
    for (let i = 0; i < out.length; i++) out[i] = String(i);
    return out;
  }

  *entries(): IterableIterator<[string, PhpValue]> {
    for (let i = 0; i < this.values.length; i++) yield [this.keyAt(i), this.values[i] as PhpValue];
  }

  indexOf(key: string | number): number {
    const k = phpKey(key);
    if (this._keys === null) {
      const n = isIntKey(k) ? Number(k) : -1;
      return n >= 0 && n < this.values.length ? n : -1;
    }
    if (this._keys.length < INDEX_THRESHOLD) return this._keys.indexOf(k);
    if (this._index === undefined || this._index.size !== this._keys.length) {
      this._index = new Map();
      for (let i = 0; i < this._keys.length; i++) this._index.set(this._keys[i] as string, i);
    }
    return this._index.get(k) ?? -1;
  }

  has(key: string | number): boolean {
    return this.indexOf(key) !== -1;
  }

  get(key: string | number): PhpValue | undefined {
    const i = this.indexOf(key);
    return i === -1 ? undefined : this.values[i];
  }

  /** PHP `$a[$key] = $value`: overwrite in place, or append. */
  set(key: string | number, value: PhpValue): void {
    const k = phpKey(key);
    const i = this.indexOf(k);
    if (i !== -1) {
      this.values[i] = value;
      return;
    }
    if (this._keys === null) {
      if (k === String(this.values.length)) {
        this.values.push(value);
        return;
      }
      this._keys = this.keys();
    }
    this._keys.push(k);
    this._index?.set(k, this._keys.length - 1);
    this.values.push(value);
  }

  /** PHP `$a[] = $value`: next integer key after the largest int key (0 when none). */
  push(value: PhpValue): void {
    if (this._keys === null) {
      this.values.push(value);
      return;
    }
    let next = 0n;
    for (const k of this._keys) {
      if (isIntKey(k)) {
        const n = BigInt(k) + 1n;
        if (n > next) next = n;
      }
    }
    this.set(next.toString(), value);
  }

  /** PHP's list test (`array_is_list`, json_encode's list/object choice): keys exactly 0..n-1. */
  isList(): boolean {
    const keys = this._keys;
    if (keys === null) return true;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== String(i)) return false;
    return true;
  }

  /** A shallow copy (same values, same key order and `fromList`). */
  clone(): PhpArray {
    return new PhpArray(this._keys === null ? null : this._keys.slice(), this.values.slice(), this.fromList);
  }
}

const INT_KEY = /^(?:0|-?[1-9][0-9]*)$/;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** True when PHP would store the string key as an integer key (`"5"`, `"-3"`; not `"05"`, `"-0"`). */
export function isIntKey(key: string): boolean {
  if (key.length > 20 || !INT_KEY.test(key)) return false;
  if (key.length < 18) return true;
  const n = BigInt(key);
  return n <= INT64_MAX && n >= INT64_MIN;
}

function phpKey(key: string | number): string {
  if (typeof key === 'string') return key;
  if (!Number.isInteger(key)) throw new TypeError(`PHP array key must be an integer or a string, got ${key}`);
  return String(key);
}

/** PHP `array_merge($a, $b, ...)`: integer keys are renumbered from 0, string keys keep their first position and take the later value. */
export function arrayMerge(...arrays: PhpArray[]): PhpArray {
  const out = new PhpArray([], [], false);
  let next = 0;
  for (const array of arrays) {
    for (let i = 0; i < array.size; i++) {
      const key = array.keyAt(i);
      const value = array.values[i] as PhpValue;
      if (isIntKey(key)) out.set(String(next++), value);
      else out.set(key, value);
    }
  }
  return out;
}

/** PHP 8 `strtolower`: ASCII only, locale-independent. */
export function phpStrToLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** PHP `(array)` cast of a decoded body: null → [], scalar → [0 => scalar], array unchanged. */
export function phpArrayCast(value: PhpValue | undefined): PhpArray {
  if (value instanceof PhpArray) return value;
  if (value === null || value === undefined) return PhpArray.list();
  return PhpArray.list([value]);
}
