/**
 * validators.gen.js: ajv standalone code for every route's input schema (plain JavaScript, typed by
 * validators.gen.d.ts). Component schemas are
 * compiled once as a shared resource (`spec.json`) so the admin spec does not inline its
 * definitions 347 times. OpenAPI 3.0 dialect bits ajv does not know are translated first.
 */
import { createRequire } from 'node:module';
import type { Ajv as AjvType, Options } from 'ajv';
import type { RouteDetail } from '../route-table.ts';
import { isObject, type Diagnostic, type Json } from '../types.ts';
import { header, type SpecMeta } from './header.ts';

const require = createRequire(import.meta.url);
const { default: Ajv, _ } = require('ajv') as typeof import('ajv');
const { default: Ajv2020 } = require('ajv/dist/2020') as typeof import('ajv/dist/2020.js');
const addFormats = require('ajv-formats') as (ajv: AjvType) => AjvType;
const standaloneCode = require('ajv/dist/standalone').default as (ajv: AjvType, refs: Record<string, string>) => string;

const SPEC_ID = 'spec.json';

export interface ValidatorsOutput {
  code: string;
  /** validators.gen.d.ts, given how it imports the InputValidator type. */
  types(inputValidatorImport: string): string;
  diagnostics: Diagnostic[];
}

export function emitValidators(doc: Json, details: RouteDetail[], meta: SpecMeta): ValidatorsOutput {
  const diagnostics: Diagnostic[] = [];
  const is31 = typeof doc.openapi === 'string' && doc.openapi.startsWith('3.1');
  const options: Options = {
    strict: false,
    logger: false,
    // Magento's ServiceInputProcessor converts scalars to the declared type ("5" for an int, 5 for
    // a string) and so do path parameters, which always arrive as strings: validate the same way.
    // Coercion rewrites the validated copy only; the stored input keeps the client's values. The
    // consumer runs the same validator over the arguments it decodes for a handler, so they arrive
    // as types.gen.ts declares them (src/plugins/coerce.ts).
    coerceTypes: true,
    allErrors: false,
    inlineRefs: false,
    validateSchema: false,
    code: { source: true, esm: true, formats: _`require("ajv-formats/dist/formats").fullFormats` },
  };
  const ajv: AjvType = is31 ? new Ajv2020(options) : new Ajv(options);
  addFormats(ajv);
  const components = isObject(doc.components) ? doc.components : {};
  const schemas = toJsonSchema({ schemas: isObject(components.schemas) ? components.schemas : {} }, is31) as Json;
  ajv.addSchema({ $id: SPEC_ID, components: schemas });

  const refs: Record<string, string> = {};
  const permissive: string[] = [];
  for (const { route, inputSchema } of details) {
    const id = `op-${route.operationId}.json`;
    try {
      ajv.addSchema({ ...(toJsonSchema(rebase(inputSchema), is31) as Json), $id: id });
      ajv.getSchema(id);
      refs[`v_${route.operationId}`] = id;
    } catch (error) {
      ajv.removeSchema(id);
      permissive.push(route.operationId);
      diagnostics.push({
        code: 'validator',
        path: route.path,
        method: route.method,
        message: `input schema cannot be compiled (${(error as Error).message}); requests are accepted unvalidated`,
      });
    }
  }

  let code = Object.keys(refs).length > 0 ? standaloneCode(ajv, refs) : '';
  code = code.replace(/^"use strict";/, '');
  const lines = [
    header(meta, ['/* eslint-disable */']),
    "import { createRequire } from 'node:module';",
    // ajv's standalone output pulls its runtime helpers with require(); ESM needs one made here.
    'const require = createRequire(import.meta.url);',
    code,
    '',
    '/** Accepts anything: routes whose schema ajv could not compile (reported when generating). */',
    'function permissive() { permissive.errors = null; return true; }',
    '',
    '/** Validators keyed by operationId; each sets `.errors` (ajv format) when it returns false. */',
    'export const validators = {',
    ...details.map(({ route }) =>
      refs[`v_${route.operationId}`]
        ? `  ${route.operationId}: v_${route.operationId},`
        : `  ${route.operationId}: permissive,`,
    ),
    '};',
    '',
  ];
  const types = (inputValidatorImport: string) =>
    [
      header(meta),
      `import type { InputValidator } from '${inputValidatorImport}';`,
      '',
      '/** Validators keyed by operationId; each sets `.errors` (ajv format) when it returns false. */',
      'export declare const validators: {',
      ...details.map(({ route }) => `  readonly ${route.operationId}: InputValidator;`),
      '};',
      '',
    ].join('\n');
  return { code: lines.join('\n'), types, diagnostics };
}

/** Local refs of route schemas point into the shared `spec.json` resource. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${SPEC_ID}${value}` : rebase(value);
  }
  return out;
}

/**
 * OpenAPI 3.0 schema → JSON Schema ajv understands: `nullable` becomes a `null` type, OAS-only
 * keywords that ajv would treat as errors are dropped. 3.1 documents are JSON Schema already.
 */
function toJsonSchema(node: unknown, is31: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, is31));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable' || key === 'discriminator' || key === 'example' || key === 'xml') continue;
    out[key] = toJsonSchema(value, is31);
  }
  if (!is31 && node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}
