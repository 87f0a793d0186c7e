/**
 * PostgreSQL array literals for the parameters of the consumer's per-batch statements, written here
 * instead of by node-postgres: its encoder runs two regular-expression replaces on every element
 * (utils.js escapeElement), which cost more of the consumer's CPU per batch than any code of ours
 * (3% of a no-op run's profile, with 100-element arrays of job ids, attempts, uuids and messages).
 * The literal is the one node-postgres writes; arrays of anything but strings, numbers, booleans
 * and nulls are left to it as they are.
 */

const NEEDS_ESCAPE = /["\\]/;

/** `values` as node-postgres's array literal, or `values` itself when it holds anything else. */
export function arrayLiteral(values: readonly unknown[]): string | readonly unknown[] {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') {
      out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${v}"`;
    } else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out += `"${v}"`;
    else return values;
  }
  return out + '}';
}

/** Statement parameters with their flat arrays written as literals ({@link arrayLiteral}). */
export function withArrayLiterals(values: readonly unknown[]): unknown[] {
  return values.map((v) => (Array.isArray(v) ? arrayLiteral(v) : v));
}
