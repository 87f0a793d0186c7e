/**
 * The route table: a pure function of the (OpenAPI 3.x) document. Everything later stages need
 * about a write operation is decided here, once, in spec order, so the output is deterministic.
 */
import type { Route, RouteParameter, WriteMethod } from '../src/routes/types.ts';
import { aclOf } from './acl.ts';
import { OperationIdAllocator } from './operation-id.ts';
import {
  asyncPath,
  bulkPath,
  compareRoutes,
  entityOf,
  normalisePath,
  pathParamNames,
  routeShape,
  toTemplate,
  topicName,
} from './paths.ts';
import { deref, jsonMediaType, objectShape } from './schema.ts';
import { serviceOf } from './services.ts';
import { isObject, type Diagnostic, type Json } from './types.ts';

export const WRITE_METHODS = ['post', 'put', 'patch', 'delete'] as const;
const ALL_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export interface RouteTableOptions {
  /** Magento-style specs (Swagger 2.0 with a `/rest` basePath): closes component objects, see input-schema.ts. */
  magentoStyle?: boolean;
}

/** A route plus what the emitters need beside it (never read at runtime from the table). */
export interface RouteDetail {
  route: Route;
  /** JSON schema of the operation's input object (body properties + path/query params). */
  inputSchema: Json;
  /** Media type of the body in the document (for typed access to it), null without body. */
  bodyMediaType: string | null;
  /** The operation object in the document. */
  operation: Json;
}

export interface RouteTable {
  routes: Route[];
  details: RouteDetail[];
  diagnostics: Diagnostic[];
}

export function buildRouteTable(doc: Json, _options: RouteTableOptions = {}): RouteTable {
  const diagnostics: Diagnostic[] = [];
  const paths = isObject(doc.paths) ? doc.paths : {};
  const ids = new OperationIdAllocator();
  const byShape = new Map<string, string>();
  const details: RouteDetail[] = [];

  for (const [pathKey, rawItem] of Object.entries(paths)) {
    const item = deref(doc, rawItem);
    if (!item) {
      diagnostics.push({ code: 'bad-path-item', path: pathKey, message: 'path item is not an object; skipped' });
      continue;
    }
    for (const [key, value] of Object.entries(item)) {
      const lower = key.toLowerCase();
      if (!ALL_METHODS.includes(lower) || !(WRITE_METHODS as readonly string[]).includes(lower)) continue;
      const method = lower.toUpperCase() as WriteMethod;
      const where = { path: pathKey, method };
      if (!isObject(value)) {
        diagnostics.push({ code: 'bad-operation', ...where, message: 'operation is not an object; skipped' });
        continue;
      }
      const shapeKey = `${method} ${routeShape(pathKey)}`;
      const first = byShape.get(shapeKey);
      if (first !== undefined) {
        diagnostics.push({
          code: 'duplicate-route',
          ...where,
          message: `same route as ${method} ${first} once normalised (${toTemplate(pathKey)}); kept the first, skipped this one`,
        });
        continue;
      }
      byShape.set(shapeKey, pathKey);
      try {
        details.push(buildRoute(doc, pathKey, method, item, value, ids, diagnostics));
      } catch (error) {
        // A spec shape nobody foresaw must cost one route, never the run.
        diagnostics.push({ code: 'operation-error', ...where, message: `skipped: ${(error as Error).message}` });
      }
    }
  }
  details.sort((a, b) => compareRoutes(a.route, b.route));
  return { routes: details.map((d) => d.route), details, diagnostics };
}

function buildRoute(
  doc: Json,
  pathKey: string,
  method: WriteMethod,
  item: Json,
  operation: Json,
  ids: OperationIdAllocator,
  diagnostics: Diagnostic[],
): RouteDetail {
  const where = { path: pathKey, method };
  const specOperationId = typeof operation.operationId === 'string' ? operation.operationId : null;
  const { id: operationId, note } = ids.allocate(specOperationId, method, pathKey);
  if (note === 'missing') {
    diagnostics.push({ code: 'operation-id', ...where, message: `no operationId; using ${operationId}` });
  } else if (note) {
    diagnostics.push({
      code: 'operation-id',
      ...where,
      message: `operationId "${specOperationId}" is ${note}; using ${operationId}`,
    });
  }

  const pathParams = pathParamNames(pathKey);
  const parameters = mergeParameters(doc, item, operation, pathParams, diagnostics, where);

  const requestBody = deref(doc, operation.requestBody);
  const bodyMediaType = requestBody ? jsonMediaType(requestBody.content) : null;
  if (requestBody && !bodyMediaType && isObject(requestBody.content) && Object.keys(requestBody.content).length > 0) {
    diagnostics.push({
      code: 'non-json-body',
      ...where,
      message: `request body has no JSON media type (${Object.keys(requestBody.content).join(', ')}); treated as no body`,
    });
  }
  const hasBody = bodyMediaType !== null;
  const bodySchema = hasBody
    ? (((requestBody!.content as Json)[bodyMediaType] as Json | undefined)?.schema ?? {})
    : null;
  const bodyShape = hasBody ? objectShape(doc, bodySchema) : null;
  const bodyKey = hasBody && !bodyShape ? 'body' : null;

  const lastParam = pathParams.at(-1);
  const lastParamTargets: string[] = [];
  if (bodyShape && lastParam !== undefined) {
    for (const [name, propSchema] of Object.entries(bodyShape.properties)) {
      const inner = objectShape(doc, propSchema);
      if (inner && Object.hasOwn(inner.properties, lastParam)) lastParamTargets.push(name);
    }
  }

  const entity = entityOf(pathKey);
  const route: Route = {
    method,
    path: pathKey,
    template: toTemplate(pathKey),
    asyncPath: asyncPath(pathKey),
    bulkPath: bulkPath(pathKey),
    topic: topicName(pathKey, method, operation['x-magento-service']),
    entity,
    operationId,
    specOperationId,
    pathParams,
    parameters,
    hasBody,
    bodyKey,
    lastParamTargets,
    acl: aclOf(operation, entity),
  };
  const secretFields = bodySchema ? secretFieldsOf(doc, bodySchema) : [];
  if (secretFields.length > 0) route.secretFields = secretFields;
  const service = serviceOf(method, pathKey, operation, specOperationId);
  if (service) route.service = service;

  const properties: Json = {};
  const required: string[] = [];
  if (bodyShape) {
    Object.assign(properties, bodyShape.properties);
    required.push(...bodyShape.required);
  } else if (bodyKey) {
    properties[bodyKey] = bodySchema;
    if (requestBody!.required === true) required.push(bodyKey);
  }
  for (const p of parameters) {
    if (p.in === 'header') continue;
    if (Object.hasOwn(properties, p.name)) continue;
    properties[p.name] = p.schema;
    if (p.in === 'path' && p.required) required.push(p.name);
  }
  const inputSchema: Json = { type: 'object', properties };
  if (required.length > 0) inputSchema.required = [...new Set(required)];
  return { route, inputSchema, bodyMediaType, operation };
}

/** Path-level parameters, overridden by operation-level ones of the same name and location. */
function mergeParameters(
  doc: Json,
  item: Json,
  operation: Json,
  pathParams: string[],
  diagnostics: Diagnostic[],
  where: { path: string; method: string },
): RouteParameter[] {
  const merged = new Map<string, RouteParameter>();
  for (const list of [item.parameters, operation.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const p = deref(doc, raw);
      if (!p || typeof p.name !== 'string') continue;
      if (p.in !== 'path' && p.in !== 'query' && p.in !== 'header') continue;
      const schema = isObject(p.schema) ? p.schema : isObject(p.content) ? firstContentSchema(p.content) : {};
      merged.set(`${p.in}:${p.name}`, {
        name: p.name,
        in: p.in,
        required: p.in === 'path' ? true : p.required === true,
        schema,
      });
    }
  }
  for (const name of pathParams) {
    if (!merged.has(`path:${name}`)) {
      diagnostics.push({
        code: 'undeclared-path-param',
        ...where,
        message: `path parameter {${name}} is not declared; assumed a string`,
      });
      merged.set(`path:${name}`, { name, in: 'path', required: true, schema: { type: 'string' } });
    }
  }
  const declaredPath = [...merged.values()].filter((p) => p.in === 'path' && !pathParams.includes(p.name));
  for (const p of declaredPath) {
    diagnostics.push({
      code: 'unused-path-param',
      ...where,
      message: `path parameter "${p.name}" is not in the path; ignored`,
    });
    merged.delete(`path:${p.name}`);
  }
  // URL order for path parameters, then the rest in declaration order.
  const inPath = pathParams.map((name) => merged.get(`path:${name}`)!);
  const rest = [...merged.values()].filter((p) => p.in !== 'path');
  return [...inPath, ...rest];
}

function firstContentSchema(content: Json): Json {
  const first = Object.values(content)[0];
  return isObject(first) && isObject(first.schema) ? first.schema : {};
}

export { normalisePath };

/**
 * Properties the spec marks secret (`format: password` or `x-secret: true`), at any depth of the
 * body schema: stored encrypted, erased when final (src/accept/secrets.ts). `password` always is.
 */
function secretFieldsOf(doc: Json, schema: unknown): string[] {
  const found = new Set<string>();
  const seen = new Set<unknown>();
  const visit = (node: unknown): void => {
    const s = deref(doc, node);
    if (!s || seen.has(s)) return;
    seen.add(s);
    if (isObject(s.properties)) {
      for (const [name, prop] of Object.entries(s.properties)) {
        const p = deref(doc, prop);
        if (p && (p.format === 'password' || p['x-secret'] === true)) found.add(name);
        visit(prop);
      }
    }
    if (s.items !== undefined) visit(s.items);
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      if (Array.isArray(s[key])) for (const sub of s[key] as unknown[]) visit(sub);
    }
    if (isObject(s.additionalProperties)) visit(s.additionalProperties);
  };
  visit(schema);
  found.delete('password');
  return [...found].sort();
}
