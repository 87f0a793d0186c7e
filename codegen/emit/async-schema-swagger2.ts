/**
 * The async and bulk documents for a Swagger 2.0 spec (every Magento one), in Swagger 2.0 as
 * Magento serves `/rest/<store>/async/schema`: each write operation answers `202` with
 * `#/definitions/asynchronous-operations-data-async-response-interface`, keeps its error
 * responses and has `401` and `default` ones (`error-response`). Paths are the route table's
 * (`/async/V1/carts/`, trailing slash as in the spec); `basePath` stays the spec's.
 */
import type { RouteDetail } from '../route-table.ts';
import { isObject, type Json } from '../types.ts';
import { headerText, type SpecMeta } from './header.ts';
import type { SchemaKind } from './async-schema.ts';
import { ACCEPT_SWITCHES } from './accept-switches.ts';

export const ASYNC_RESPONSE = 'asynchronous-operations-data-async-response-interface';
export const ITEM_STATUS = 'asynchronous-operations-data-item-status-interface';
/** Ours, not Magento's: the answer of a validate-only request (no bulk_uuid). */
export const VALIDATE_RESPONSE = 'magento-async-validate-response';

const SWITCHES = ACCEPT_SWITCHES.map((s) => ({
  name: s.name,
  in: 'query',
  type: 'boolean',
  required: false,
  description: s.description,
}));

const DEFINITIONS: Record<string, Json> = {
  [ASYNC_RESPONSE]: {
    type: 'object',
    description: 'Interface AsyncResponseInterface Temporary data object to give response from webapi async router',
    properties: {
      bulk_uuid: { type: 'string', description: 'Bulk uuid.' },
      request_items: {
        type: 'array',
        description: 'List of request items.',
        items: { $ref: `#/definitions/${ITEM_STATUS}` },
      },
      errors: { type: 'boolean', description: 'Whether any item was rejected.' },
    },
    required: ['bulk_uuid', 'request_items', 'errors'],
  },
  [VALIDATE_RESPONSE]: {
    type: 'object',
    description:
      "Response of a validate-only request (validateOnly=true): the verdict accept would give each item, after the plugins' checks; nothing is stored or queued.",
    properties: {
      request_items: {
        type: 'array',
        description: 'List of request items.',
        items: { $ref: `#/definitions/${ITEM_STATUS}` },
      },
      errors: { type: 'boolean', description: 'Whether any item was rejected.' },
    },
    required: ['request_items', 'errors'],
  },
  [ITEM_STATUS]: {
    type: 'object',
    description: 'ItemStatusInterface interface Temporary object with status of requested item.',
    properties: {
      id: { type: 'integer', description: 'Entity ID.' },
      data_hash: { type: 'string', description: 'Hash of the entity data.', 'x-nullable': true },
      status: { type: 'string', description: 'Status of the item: accepted or rejected.' },
      error_message: { type: 'string', description: 'Error information.' },
      error_code: { type: 'integer', description: 'Error code.' },
    },
    required: ['id', 'data_hash', 'status'],
  },
};

const ERROR_RESPONSE: Json = {
  type: 'object',
  properties: {
    message: { type: 'string', description: 'Error message' },
    parameters: { type: 'object', description: 'Message parameters' },
    trace: { type: 'string', description: 'Stack trace' },
  },
  required: ['message'],
};

const ref = (name: string) => ({ $ref: `#/definitions/${name}` });

function responses(original: unknown): Json {
  const out: Json = {
    '200': { description: 'Validated only (validateOnly=true): nothing was stored.', schema: ref(VALIDATE_RESPONSE) },
    '202': { description: '202 Accepted.', schema: ref(ASYNC_RESPONSE) },
  };
  if (isObject(original)) {
    for (const [code, response] of Object.entries(original)) if (!/^2/.test(code)) out[code] = response;
  }
  out['401'] ??= { description: '401 Unauthorized', schema: ref('error-response') };
  out.default ??= { description: 'Unexpected error', schema: ref('error-response') };
  return out;
}

/** The OAS 3 input schema codegen built, as Swagger 2.0 JSON schema. */
function toSwagger2Schema(schema: Json): Json {
  return JSON.parse(
    JSON.stringify(schema)
      .replaceAll('"#/components/schemas/', '"#/definitions/')
      .replaceAll('"nullable":', '"x-nullable":'),
  ) as Json;
}

export function swagger2Document(original: Json, details: RouteDetail[], meta: SpecMeta, kind: SchemaKind): Json {
  const info = isObject(original.info) ? original.info : {};
  const paths = isObject(original.paths) ? original.paths : {};
  const out: Json = {
    'x-generated': headerText(meta),
    swagger: '2.0',
    info: {
      title: `${typeof info.title === 'string' ? info.title : 'API'} (${kind === 'async' ? 'asynchronous' : 'bulk'})`,
      version: typeof info.version === 'string' ? info.version : '0',
    },
  };
  for (const key of ['host', 'basePath', 'schemes', 'securityDefinitions', 'security', 'tags']) {
    if (original[key] !== undefined) out[key] = original[key];
  }
  const outPaths: Record<string, Json> = {};
  for (const { route, inputSchema } of details) {
    const pathItem = paths[route.path];
    const item: Json = isObject(pathItem) ? pathItem : {};
    const operation = isObject(item[route.method.toLowerCase()]) ? (item[route.method.toLowerCase()] as Json) : {};
    const copy: Json = {};
    for (const key of ['tags', 'summary', 'description', 'consumes', 'produces', 'security'])
      if (operation[key] !== undefined) copy[key] = operation[key];
    copy.operationId = route.operationId;
    if (kind === 'async') {
      const shared = Array.isArray(item.parameters) ? item.parameters : [];
      const own = Array.isArray(operation.parameters) ? operation.parameters : [];
      copy.parameters = [...shared, ...own, ...SWITCHES];
    } else {
      // A bulk body is an array of complete argument sets; URL placeholders carry nothing.
      copy.parameters = [
        {
          name: `${route.operationId}Body`,
          in: 'body',
          required: true,
          schema: { type: 'array', items: toSwagger2Schema(inputSchema) },
        },
        ...SWITCHES,
      ];
    }
    copy.responses = responses(operation.responses);
    const key = kind === 'async' ? route.asyncPath : route.bulkPath;
    outPaths[key] ??= {};
    outPaths[key][route.method.toLowerCase()] = copy;
  }
  out.paths = outPaths;
  const definitions = isObject(original.definitions) ? { ...original.definitions } : {};
  definitions['error-response'] ??= ERROR_RESPONSE;
  out.definitions = { ...definitions, ...DEFINITIONS };
  return out;
}
