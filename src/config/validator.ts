/**
 * The validator of the configuration schema, compiled by ajv in this process (about a tenth of a
 * second and ajv's compiler loaded). A checkout uses it only when its cache of the standalone code
 * cannot be used (src/config/compiled.ts); the package's build replaces this module's compiled copy
 * with ajv's standalone code of the same validator (src/config/precompile.ts), so an installed
 * command that reads its configuration loads neither ajv's compiler nor TypeBox.
 */
import type { ValidateFunction } from 'ajv';
import { configAjv } from './ajv.ts';
import { ConfigSchema } from './schema.ts';

let compiled: ValidateFunction | undefined;

/** The compiled validator of `ConfigSchema`, made once per process. */
export function configValidator(): ValidateFunction {
  return (compiled ??= configAjv().compile(ConfigSchema));
}
