/**
 * The smallest arguments the spec accepts for an operation: every required property, and nothing
 * else, with a plain value of its type. `plugin:new` writes them into the test it scaffolds, so that
 * test sends an operation validation lets through; an author then replaces them with real cases.
 * Read from the async OpenAPI document codegen emits (Swagger 2.0 or OpenAPI 3 form).
 */
import type { Route } from '../routes/types.ts';

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;

function resolveRef(doc: unknown, ref: string): Schema | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node && typeof node === 'object' ? (node as Schema) : undefined;
}

/** A value `schema` accepts, as small as it can be. */
export function exampleValue(doc: unknown, schema: Schema | undefined, name = 'value', depth = 0): unknown {
  if (!schema || depth > MAX_DEPTH) return null;
  if (typeof schema.$ref === 'string') return exampleValue(doc, resolveRef(doc, schema.$ref), name, depth + 1);
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.allOf)) {
    const parts = schema.allOf.map((s) => exampleValue(doc, s as Schema, name, depth + 1));
    return parts.every((p) => p && typeof p === 'object' && !Array.isArray(p)) ? Object.assign({}, ...parts) : parts[0];
  }
  for (const key of ['oneOf', 'anyOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length) return exampleValue(doc, options[0] as Schema, name, depth + 1);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? Math.max(1, Math.ceil(schema.minimum)) : 1;
    case 'boolean':
      return true;
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      return Array.from({ length: min }, () => exampleValue(doc, schema.items as Schema, name, depth + 1));
    }
    case 'string':
      return exampleString(schema, name);
    default:
      if (type === 'object' || schema.properties) {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
        return Object.fromEntries(required.map((p) => [p, exampleValue(doc, properties[p], p, depth + 1)]));
      }
      return exampleString(schema, name);
  }
}

function exampleString(schema: Schema, name: string): string {
  switch (schema.format) {
    case 'date-time':
      return '2024-01-01T00:00:00Z';
    case 'date':
      return '2024-01-01';
    case 'email':
      return 'someone@example.com';
    case 'uri':
      return 'https://example.com/';
  }
  const base = /email/i.test(name) ? 'someone@example.com' : `example-${name}`;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  return base.padEnd(min, 'x');
}

/** The schema of `schema`'s property `name`, through `$ref`s and `allOf`s. */
function propertyOf(doc: unknown, schema: Schema | undefined, name: string, depth = 0): Schema | undefined {
  if (!schema || depth > MAX_DEPTH) return undefined;
  if (typeof schema.$ref === 'string') return propertyOf(doc, resolveRef(doc, schema.$ref), name, depth + 1);
  const own = (schema.properties as Record<string, Schema> | undefined)?.[name];
  if (own) return typeof own.$ref === 'string' ? resolveRef(doc, own.$ref) : own;
  for (const part of (schema.allOf ?? []) as Schema[]) {
    const found = propertyOf(doc, part, name, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The operation's entry in the async OpenAPI document, found by its operationId. */
function operationOf(doc: unknown, operationId: string): Schema | undefined {
  const paths = ((doc as { paths?: unknown })?.paths ?? {}) as Record<string, Record<string, Schema>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) if (op?.operationId === operationId) return op;
  }
  return undefined;
}

/**
 * Arguments as a handler receives them and a bulk element carries them: path parameters as
 * top-level keys beside the body's properties (or the body under `route.bodyKey`).
 */
export function exampleArgs(route: Route, asyncDoc: unknown): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const p of route.parameters) {
    if (p.in === 'path') args[p.name] = exampleValue(asyncDoc, p.schema, p.name);
  }
  if (!route.hasBody) return args;
  const op = operationOf(asyncDoc, route.operationId);
  const parameters = (op?.parameters ?? []) as Schema[];
  const bodySchema =
    (parameters.find((p) => p.in === 'body')?.schema as Schema | undefined) ??
    ((op?.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content?.['application/json']
      ?.schema as Schema | undefined);
  const body = exampleValue(asyncDoc, bodySchema, 'body');
  if (route.bodyKey !== null) args[route.bodyKey] = body;
  else if (body && typeof body === 'object' && !Array.isArray(body)) Object.assign(args, body);
  // Magento's PUT rule fills the last path parameter into the body object (CONTRACT §2); a bulk
  // element has no URL, so it carries it itself. The value must then suit the body's property too
  // (`PUT /V1/categories/{id}`: a string in the path, an integer `category.id`).
  const last = route.pathParams.at(-1);
  const numeric = route.lastParamTargets.some((target) => {
    const type = propertyOf(asyncDoc, propertyOf(asyncDoc, bodySchema, target), last ?? '')?.type;
    return type === 'integer' || type === 'number';
  });
  if (last && numeric && typeof args[last] === 'string') args[last] = '1';
  for (const target of route.lastParamTargets) {
    const object = args[target];
    if (last && object && typeof object === 'object' && !Array.isArray(object))
      (object as Record<string, unknown>)[last] ??= args[last];
  }
  return args;
}
