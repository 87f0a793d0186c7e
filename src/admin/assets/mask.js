// The operation input as the dashboard shows it: `meta_information` (itself a JSON string, as
// Magento stores it) parsed, and the values of secret-looking keys masked, since the page may be on
// a shared screen. Plain browser JavaScript, also imported by the tests.

/** Keys whose values are never shown. */
export const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|authori[sz]ation|credit|card|cvv|cc_|private/i;
export const MASK = '••••••';

export function maskValue(value, key) {
  if (key !== undefined && SECRET_KEY.test(key) && value !== null && typeof value !== 'object') return MASK;
  if (Array.isArray(value)) return value.map((x) => maskValue(x));
  if (value && typeof value === 'object') {
    // A secret key holding an object (say `credit_card: {...}`) masks everything inside it.
    const secret = key !== undefined && SECRET_KEY.test(key);
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, secret ? maskAll(x) : maskValue(x, k)]));
  }
  return value;
}

function maskAll(value) {
  if (Array.isArray(value)) return value.map(maskAll);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, maskAll(x)]));
  return value === null ? null : MASK;
}

export function maskedInput(serialized) {
  if (serialized === null || serialized === undefined) return '(none)';
  let data;
  try {
    data = JSON.parse(serialized);
    if (typeof data?.meta_information === 'string') data.meta_information = JSON.parse(data.meta_information);
  } catch {
    return '(not JSON)';
  }
  return JSON.stringify(maskValue(data), null, 2);
}
