/**
 * The OpenAPI documents Magento serves at `/rest/<store>/async/schema` and `/async/bulk/schema`:
 * write operations only, each answering 202 with the async response schema (source notes §13.3).
 */
import type { Route } from '../../src/routes/types.ts';
import type { RouteDetail } from '../route-table.ts';
import { isObject, type Json } from '../types.ts';
import { headerText, type SpecMeta } from './header.ts';
import { swagger2Document } from './async-schema-swagger2.ts';
import { ACCEPT_SWITCHES } from './accept-switches.ts';

export const ASYNC_RESPONSE_SCHEMA: Json = {
  type: 'object',
  description: 'Response of an accepted asynchronous or bulk request.',
  required: ['bulk_uuid', 'request_items', 'errors'],
  properties: {
    bulk_uuid: { type: 'string', description: 'Bulk uuid' },
    request_items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'data_hash', 'status'],
        properties: {
          id: { type: 'integer', description: 'Index of the item in the request' },
          data_hash: { type: 'string', nullable: true, description: 'HMAC of the stored operation data' },
          status: { type: 'string', enum: ['accepted', 'rejected'] },
          error_message: { type: 'string' },
          error_code: { type: 'integer' },
        },
      },
    },
    errors: { type: 'boolean', description: 'Whether any item was rejected' },
  },
};

/** A validate-only answer: the async response without `bulk_uuid` (no bulk is created). */
export const VALIDATE_RESPONSE_SCHEMA: Json = {
  type: 'object',
  description:
    "Response of a validate-only request (validateOnly=true): the verdict accept would give each item, after the plugins' checks; nothing is stored or queued.",
  required: ['request_items', 'errors'],
  properties: {
    request_items: (ASYNC_RESPONSE_SCHEMA.properties as Json).request_items,
    errors: (ASYNC_RESPONSE_SCHEMA.properties as Json).errors,
  },
};

export type SchemaKind = 'async' | 'bulk';

export function asyncDocument(doc: Json, details: RouteDetail[], meta: SpecMeta, kind: SchemaKind): Json {
  const info = isObject(doc.info) ? doc.info : {};
  const is31 = typeof doc.openapi === 'string' && doc.openapi.startsWith('3.1');
  const response = is31 ? to31Nullable(ASYNC_RESPONSE_SCHEMA) : ASYNC_RESPONSE_SCHEMA;
  const components = isObject(doc.components) ? structuredClone(doc.components) : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  const validated = is31 ? to31Nullable(VALIDATE_RESPONSE_SCHEMA) : VALIDATE_RESPONSE_SCHEMA;
  components.schemas = { ...schemas, 'async-response': response, 'async-validate-response': validated };

  const paths: Record<string, Json> = {};
  for (const detail of details) {
    const { route } = detail;
    const key = kind === 'async' ? route.asyncPath : route.bulkPath;
    paths[key] ??= {};
    paths[key][route.method.toLowerCase()] = kind === 'async' ? asyncOperation(detail) : bulkOperation(detail);
  }
  const out: Json = {
    'x-generated': headerText(meta),
    openapi: doc.openapi,
    info: {
      title: `${typeof info.title === 'string' ? info.title : 'API'} (${kind === 'async' ? 'asynchronous' : 'bulk'})`,
      version: typeof info.version === 'string' ? info.version : '0',
    },
  };
  if (Array.isArray(doc.servers)) out.servers = doc.servers;
  out.paths = paths;
  out.components = components;
  return out;
}

const ACCEPTED = {
  '200': {
    description: 'Validated only (validateOnly=true): nothing was stored.',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/async-validate-response' } } },
  },
  '202': {
    description: '202 Accepted.',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/async-response' } } },
  },
};

const SWITCHES = ACCEPT_SWITCHES.map((s) => ({
  name: s.name,
  in: 'query',
  required: false,
  description: s.description,
  schema: { type: 'boolean', default: false },
}));

function common(route: Route, operation: Json): Json {
  const out: Json = { operationId: route.operationId };
  if (Array.isArray(operation.tags)) out.tags = operation.tags;
  if (typeof operation.summary === 'string') out.summary = operation.summary;
  if (typeof operation.description === 'string') out.description = operation.description;
  return out;
}

function asyncOperation({ route, inputSchema, operation }: RouteDetail): Json {
  const out = common(route, operation);
  const params = route.parameters
    .filter((p) => p.in !== 'header')
    .map((p) => ({ name: p.name, in: p.in, required: p.required, schema: p.schema }));
  out.parameters = [...params, ...SWITCHES];
  if (route.hasBody) {
    const properties = isObject(inputSchema.properties) ? { ...inputSchema.properties } : {};
    for (const p of route.parameters) if (p.in !== 'header') delete properties[p.name];
    const required = Array.isArray(inputSchema.required)
      ? inputSchema.required.filter((r) => typeof r === 'string' && Object.hasOwn(properties, r))
      : [];
    const body = route.bodyKey
      ? properties[route.bodyKey]
      : { type: 'object', properties, ...(required.length ? { required } : {}) };
    out.requestBody = { required: true, content: { 'application/json': { schema: body ?? {} } } };
  }
  out.responses = ACCEPTED;
  return out;
}

function bulkOperation({ route, inputSchema, operation }: RouteDetail): Json {
  const out = common(route, operation);
  out.parameters = SWITCHES;
  out.requestBody = {
    required: true,
    content: { 'application/json': { schema: { type: 'array', items: inputSchema } } },
  };
  out.responses = ACCEPTED;
  return out;
}

function to31Nullable(schema: Json): Json {
  return JSON.parse(
    JSON.stringify(schema).replace(/"type":"string","nullable":true/g, '"type":["string","null"]'),
  ) as Json;
}

/** Swagger 2.0 input gets Swagger 2.0 (as Magento serves it), OpenAPI 3 input OpenAPI 3. */
export function emitAsyncSchema(
  doc: Json,
  details: RouteDetail[],
  meta: SpecMeta & { swagger2?: Json | null },
  kind: SchemaKind,
): string {
  const document = meta.swagger2
    ? swagger2Document(meta.swagger2, details, meta, kind)
    : asyncDocument(doc, details, meta, kind);
  return `${JSON.stringify(document, null, 2)}\n`;
}
