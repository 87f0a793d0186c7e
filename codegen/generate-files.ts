/**
 * What codegen generates from the spec alone, the part the codegen cache keeps (codegen/cache.ts):
 * the spec parsed and converted, its route table, and the emitters' files. Imported only when a
 * generation is made, so a cached one is reused without the YAML parser, the Swagger converter,
 * the TypeScript compiler or ajv.
 */
import type { Generation } from './cache.ts';
import { emitAsyncSchema } from './emit/async-schema.ts';
import { emitHandlers } from './emit/handlers.ts';
import { VALIDATOR_IMPORT } from './emit/header.ts';
import { emitTypes } from './emit/types.ts';
import { emitValidators } from './emit/validators.ts';
import { closeMagentoObjects, isMagentoStyle } from './input-schema.ts';
import { parseSpecSource, type LoadedSpec } from './load-spec.ts';
import { buildRouteTable } from './route-table.ts';
import type { SpecSource } from './spec-source.ts';
import { isObject } from './types.ts';

/** `spec` loaded: parsed and converted when only its bytes were read. */
export async function loadedSpec(spec: SpecSource | LoadedSpec): Promise<LoadedSpec> {
  return 'doc' in spec ? spec : parseSpecSource(spec);
}

/** Everything generated from the spec alone (what the codegen cache keeps). */
export async function generateFiles(spec: LoadedSpec): Promise<Generation> {
  const doc = spec.doc;
  const info = isObject(doc.info) ? doc.info : {};
  const diagnostics = [...spec.diagnostics];
  if (isMagentoStyle(spec)) closeMagentoObjects(doc);
  const table = buildRouteTable(doc);
  diagnostics.push(...table.diagnostics);
  const routeDiagnostics = diagnostics.length;
  const files: Generation['files'] = [];
  files.push(['types.gen.ts', await emitTypes(doc, table.routes, spec)]);
  files.push(['handlers.gen.ts', emitHandlers(table.details, spec)]);
  const validators = emitValidators(doc, table.details, spec);
  diagnostics.push(...validators.diagnostics);
  files.push(['validators.gen.js', validators.code]);
  files.push(['validators.gen.d.ts', validators.types(VALIDATOR_IMPORT)]);
  files.push(['async-schema.gen.json', emitAsyncSchema(doc, table.details, spec, 'async')]);
  files.push(['bulk-schema.gen.json', emitAsyncSchema(doc, table.details, spec, 'bulk')]);
  return {
    routes: table.routes,
    diagnostics,
    routeDiagnostics,
    info: {
      title: typeof info.title === 'string' ? info.title : '',
      version: typeof info.version === 'string' ? info.version : '',
    },
    files,
  };
}
