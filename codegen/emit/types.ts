/** types.gen.ts: openapi-typescript over the normalised document whose operationIds are ours. */
import { openapiTypescript } from '../toolchain.ts';
import type { Route } from '../../src/routes/types.ts';
import { isObject, type Json } from '../types.ts';
import { header, type SpecMeta } from './header.ts';

/**
 * A copy of the document where each route's operation carries the route's operationId and every
 * other operation (GETs, skipped duplicates) none, so `operations[...]` holds exactly the routes.
 */
export function typesDocument(doc: Json, routes: Route[]): Json {
  const copy = structuredClone(doc);
  const ids = new Map(routes.map((r) => [`${r.method} ${r.path}`, r.operationId]));
  for (const [pathKey, item] of Object.entries(isObject(copy.paths) ? copy.paths : {})) {
    if (!isObject(item)) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation) || method === 'parameters') continue;
      const id = ids.get(`${method.toUpperCase()} ${pathKey}`);
      if (id) operation.operationId = id;
      else delete operation.operationId;
    }
  }
  return copy;
}

export async function emitTypes(doc: Json, routes: Route[], meta: SpecMeta): Promise<string> {
  const { default: openapiTS, astToString } = await openapiTypescript();
  const ast = await openapiTS(typesDocument(doc, routes) as unknown as Parameters<typeof openapiTS>[0], {
    silent: true,
    // The document is already self-contained (external refs were replaced at load).
    redocly: undefined,
  });
  return `${header(meta, ['/* eslint-disable */'])}\n${astToString(ast)}`;
}
