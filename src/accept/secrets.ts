/**
 * Secrets at rest (beyond Magento, which stores a customer's password in clear in
 * `serialized_data` until the operation completes). A secret field (`password`, or any field a
 * route marks secret) is stored as an envelope `$ma-enc$v1$<base64url(iv | tag | ciphertext)>`:
 * AES-256-GCM under a key derived from the crypt key, over the PHP JSON of the value. `data_hash`
 * is computed over the clear `serialized_data`, so it stays Magento's. The consumer opens the
 * envelopes just before the handler runs; once an operation is final (complete, not retriably
 * failed, rejected) the database trigger of migration 012 replaces every envelope by `$ma-erased$`.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { E } from '../errors/catalogue.ts';
import { OperationError } from '../kernel/operation-errors.ts';
import { PhpArray, phpJsonEncode, type PhpValue } from './php-json.ts';
import { phpStrToLower } from './php-value.ts';
import { normalizedKey } from './input.ts';

export const SECRET_ENVELOPE = '$ma-enc$v1$';
export const ERASED_SECRET = '$ma-erased$';
/** What every envelope and erased secret starts with: stored text without it has none to open. */
export const SECRET_MARK = '$ma-';
/** Field names (normalised as filterInputData does: lower case, no `_`) that are always secret. */
export const DEFAULT_SECRET_FIELDS: readonly string[] = ['password'];

const IV = 12;
const TAG = 16;
const keys = new WeakMap<Buffer, Buffer>();

function secretKey(cryptKey: Buffer): Buffer {
  let key = keys.get(cryptKey);
  if (!key) {
    // A key of its own: the HMAC key of data_hash never doubles as an encryption key.
    key = Buffer.from(hkdfSync('sha256', cryptKey, Buffer.alloc(0), 'magento-async secrets at rest v1', 32));
    keys.set(cryptKey, key);
  }
  return key;
}

export function normaliseFieldName(name: string): string {
  return phpStrToLower(name.replaceAll('_', ''));
}

/** The names a route keeps secret, normalised (the default ones plus the route's own). */
export function secretFieldSet(routeFields: readonly string[] | undefined): ReadonlySet<string> {
  return new Set([...DEFAULT_SECRET_FIELDS, ...(routeFields ?? [])].map(normaliseFieldName));
}

/**
 * A copy of `input` with every secret field's value sealed; `input` itself when there is none.
 * A walk over the keys (their normal forms are cached): about a millisecond for a 1,000-item bulk,
 * where a case-insensitive scan of the raw body cost twenty times that.
 */
export function sealSecrets(input: PhpArray, names: ReadonlySet<string>, cryptKey: Buffer): PhpArray {
  let out: PhpArray | undefined;
  for (let i = 0; i < input.size; i++) {
    const value = input.values[i] as PhpValue;
    let sealed: PhpValue = value;
    if (!input.fromList && value !== null && names.has(normalizedKey(input.keyAt(i)))) {
      sealed = seal(value, cryptKey);
    } else if (value instanceof PhpArray) {
      sealed = sealSecrets(value, names, cryptKey);
    }
    if (sealed !== value) (out ??= input.clone()).values[i] = sealed;
  }
  return out ?? input;
}

function seal(value: PhpValue, cryptKey: Buffer): string {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', secretKey(cryptKey), iv);
  const body = Buffer.concat([cipher.update(phpJsonEncode(value), 'utf8'), cipher.final()]);
  return SECRET_ENVELOPE + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/**
 * The handler's arguments with every envelope opened (a new value; `args` is untouched when it
 * holds none). An erased secret fails the operation with a message saying so.
 */
export function openSecrets(args: unknown, cryptKey: Buffer): unknown {
  if (typeof args === 'string') {
    if (args === ERASED_SECRET) throw new OperationError(E.SECRET_ERASED.template);
    return args.startsWith(SECRET_ENVELOPE) ? open(args, cryptKey) : args;
  }
  if (args === null || typeof args !== 'object') return args;
  if (Array.isArray(args)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < args.length; i++) {
      const v = openSecrets(args[i], cryptKey);
      if (v !== args[i]) (out ??= [...args])[i] = v;
    }
    return out ?? args;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(args)) {
    const opened = openSecrets(v, cryptKey);
    if (opened !== v) {
      out ??= { ...args };
      Object.defineProperty(out, k, { value: opened, writable: true, enumerable: true, configurable: true });
    }
  }
  return out ?? args;
}

function open(envelope: string, cryptKey: Buffer): unknown {
  const raw = Buffer.from(envelope.slice(SECRET_ENVELOPE.length), 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', secretKey(cryptKey), raw.subarray(0, IV));
  decipher.setAuthTag(raw.subarray(IV, IV + TAG));
  const text = Buffer.concat([decipher.update(raw.subarray(IV + TAG)), decipher.final()]).toString('utf8');
  return JSON.parse(text) as unknown;
}
