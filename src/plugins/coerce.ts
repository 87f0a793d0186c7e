/**
 * Handlers receive their arguments as their generated types say. The stored input stays exactly
 * what Magento would store (CONTRACT §3: `serialized_data` and `data_hash` are built from the
 * client's values), so a path parameter is the string from the URL and `"29"` stays `"29"`; the
 * consumer converts a copy before the handler runs, as Magento's MessageEncoder does with
 * ServiceInputProcessor::convertValue before it calls the service (source notes §7.2).
 *
 * The conversion is the one the accept step's validation already applied to its own throwaway
 * copy: the operation's generated validator, whose ajv `coerceTypes` casts scalars to the declared
 * type ("5" → 5, 5 → "5", "1"/"true" → true; null → 0, "" or false where the schema does not allow
 * null), plus the same turning of an empty PHP array (`[]`, which is how Magento stores `{}`) into
 * the object the schema expects. Input that passed at accept passes again. A failure means these
 * validators are not the ones the operation was accepted with (a server mounting another spec with
 * `serve --spec` than the one this checkout generated its types from): the types cannot describe
 * that input either, so the handler gets it converted as far as the validator got, and the
 * mismatch is logged once per operation, rather than failing operations the server accepted.
 */
import { flipEmptyContainer, type InputValidator } from '../accept/prepare.ts';
import { validationError } from '../accept/validation-errors.ts';
import type { Logger } from '../kernel/logger.ts';

export type CoerceResult = { ok: true; args: unknown } | { ok: false; message: string };

/**
 * `args` converted, or the validation message. A copy unless `inPlace`: the consumer's arguments
 * are parsed afresh from `serialized_data` for each run and belong to it, and copying them cost
 * three times the conversion itself (bench/coerce.bench.ts).
 */
export function coerceArgs(
  validator: InputValidator,
  args: unknown,
  options: { inPlace?: boolean } = {},
): CoerceResult {
  let current: unknown = options.inPlace ? args : structuredClone(args);
  // Bounded as at accept: each round turns one more empty container around.
  for (let round = 0; round <= 64; round++) {
    if (validator(current)) return { ok: true, args: current };
    const flipped = flipEmptyContainer(current, validator.errors ?? []);
    if (flipped === undefined) break;
    current = flipped;
  }
  return { ok: false, message: validationError(validator.errors, { data: current }).message };
}

/** Converts an operation's stored arguments for its handler (src/consumer/handler-context.ts). */
export type Coerce = (operationId: string, args: unknown, log: Logger) => unknown;

/**
 * Converts every operation's arguments, in place: the executor parses them afresh for each run,
 * so they belong to it. Operations without a validator here (a route only another server's route
 * table has, whose types this checkout never generated) are passed through as stored.
 */
export function argumentCoercer(
  validators: Readonly<Record<string, InputValidator | undefined>>,
  options: {
    /**
     * Operations to hand over as stored: those the http-forward fallback runs, so the replayed
     * call carries the client's values exactly (ajv turns a `null` into 0, where Magento's
     * ServiceInputProcessor keeps it null).
     */
    asStored?: (operationId: string) => boolean;
  } = {},
): Coerce {
  const warned = new Set<string>();
  return (operationId, args, log) => {
    const validator = Object.hasOwn(validators, operationId) ? validators[operationId] : undefined;
    if (!validator || options.asStored?.(operationId)) return args;
    const coerced = coerceArgs(validator, args, { inPlace: true });
    if (coerced.ok) return coerced.args;
    if (!warned.has(operationId)) {
      warned.add(operationId);
      log.warn(
        { operationId, reason: coerced.message },
        "stored input does not match this checkout's generated validator (another spec?): the handler gets it partly converted",
      );
    }
    return args;
  };
}

/** The arguments stored in a `serialized_data` (its `meta_information`, itself JSON: Magento). */
export function storedArgsOf(plain: string): unknown {
  return JSON.parse((JSON.parse(plain) as { meta_information: string }).meta_information) as unknown;
}

/**
 * The arguments the consumer would hand the handler, from an accepted item's unsealed
 * `serialized_data`: parsed, then coerced (as stored without a validator: the fallback's operations).
 */
export function handlerArgsOf(plain: string, validator: InputValidator | undefined): unknown {
  return handlerArgs(storedArgsOf(plain), validator);
}

/** Stored arguments as the handler gets them: coerced in place, as stored when that fails. */
export function handlerArgs(args: unknown, validator: InputValidator | undefined): unknown {
  if (!validator) return args;
  const coerced = coerceArgs(validator, args, { inPlace: true });
  return coerced.ok ? coerced.args : args;
}
