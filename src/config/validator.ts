/**
 * The validator of the configuration schema. In a checkout ajv compiles it on first use (about a
 * tenth of a second); the package's build replaces this module's compiled copy with ajv's
 * standalone code of the same validator (src/config/precompile.ts), so an installed command that
 * reads its configuration loads neither ajv's compiler nor TypeBox.
 */
import type { ValidateFunction } from 'ajv';
import { configAjv } from './ajv.ts';
import { ConfigSchema } from './schema.ts';

let compiled: ValidateFunction | undefined;

/** The compiled validator of `ConfigSchema`, made once per process. */
export function configValidator(): ValidateFunction {
  return (compiled ??= configAjv().compile(ConfigSchema));
}
