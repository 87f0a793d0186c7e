/**
 * What `/rest/<store>/async/schema` and `/async/bulk/schema` show a caller: as Magento's schema
 * generator, only the operations the caller's token may call (a request without a token sees the
 * anonymous ones). Documents are filtered once per set of resources, not per request.
 */
import { isAllowed } from '../auth/acl.ts';
import type { Caller } from '../kernel/caller.ts';
import type { Route } from '../routes/types.ts';

type Doc = { paths?: Record<string, Record<string, { operationId?: string }>> } & Record<string, unknown>;

export function createSchemaAccess(schemas: { async: unknown; bulk: unknown }, routes: readonly Route[]) {
  const aclOf = new Map(routes.map((r) => [r.operationId, r.acl]));
  const cache = new Map<string, unknown>();
  const filter = (doc: Doc, caller: Caller): Doc => {
    const paths: NonNullable<Doc['paths']> = {};
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const [method, operation] of Object.entries(item)) {
        const acl = aclOf.get(operation.operationId ?? '');
        if (acl && !isAllowed(caller, acl)) continue;
        (paths[path] ??= {})[method] = operation;
      }
    }
    return { ...doc, paths };
  };
  return {
    visible(kind: 'async' | 'bulk', caller: Caller): unknown {
      const resources = caller.resources === 'all' ? 'all' : [...caller.resources].sort().join(',');
      const key = `${kind}:${resources}`;
      let doc = cache.get(key);
      if (doc === undefined) {
        doc = filter(schemas[kind] as Doc, caller);
        if (cache.size > 1000) cache.clear();
        cache.set(key, doc);
      }
      return doc;
    },
  };
}
