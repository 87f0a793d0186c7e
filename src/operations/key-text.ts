/**
 * The text of one value of an entity key: the one rule for the keys an operation provides (its
 * order rule's paths into its stored arguments) and the keys it requires (its plugins' `requires`),
 * in JS (accept's cycle check, the consumer's look) and in SQL (the order triggers and
 * `order_key_of`, migration 030_entity_key_text.sql, whose `key_text` spells the same rule;
 * test/operations/order-keys.test.ts runs both on the same table of values).
 *
 * A key names an entity by value, not by how a request spelled it: `1`, `1.0`, `1e0` and `"1"`
 * are one key, `1`; `-0` is `0`; a number is read as JavaScript reads it (a double: integers past
 * 2^53 are the nearest double) and written as JavaScript's `String(n)` writes it (integers below
 * 10^21 in full digits, `1e+21`, `1e-7`). Strings are themselves, spaces and all; booleans `true` /
 * `false`. Null, a missing value, an object or an array name no entity: no key (not ordered).
 */
export function keyValueText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return keyValueText(Number(value));
  return null;
}
