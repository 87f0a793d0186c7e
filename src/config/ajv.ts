/**
 * The ajv instance the configuration schema compiles with, the same at run time in a checkout
 * (src/config/validator.ts) and at build time for the package (src/config/precompile.ts).
 */
import { createRequire } from 'node:module';
import type { Ajv, Options } from 'ajv';
import { FORMAT_CHECKS } from './formats.ts';

export function configAjv(code?: Options['code']): Ajv {
  const { default: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  return new AjvClass({
    allErrors: false,
    // Strict, so a misspelt JSON Schema keyword in the schema fails here; ours are vocabulary.
    strict: true,
    keywords: ['env', 'defaultText', 'expected'],
    formats: FORMAT_CHECKS,
    ...(code ? { code } : {}),
  });
}
