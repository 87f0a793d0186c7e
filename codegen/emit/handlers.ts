/**
 * handlers.gen.ts: per operation, what its handler receives and returns, built from types.gen.ts;
 * and per Magento service method, the operations it stands for. Arguments are typed as the
 * consumer delivers them: coerced to the declared types (src/plugins/coerce.ts), so a path
 * parameter declared an integer is a number.
 */
import type { RouteDetail } from '../route-table.ts';
import { header, type SpecMeta } from './header.ts';

export function emitHandlers(details: RouteDetail[], meta: SpecMeta): string {
  const lines = [
    header(meta),
    "import type { operations } from './types.gen.ts';",
    '',
    '// Path parameters of an operation, `{}` when it has none.',
    'type PathOf<O> = O extends { parameters: { path: infer P } } ? P : {};',
    '// Query parameters join the input as optional top-level keys (Magento passes them through).',
    'type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? ([NonNullable<Q>] extends [never] ? {} : Partial<NonNullable<Q>>) : {};',
    'type BodyOf<O, M extends string> = O extends { requestBody?: infer B }',
    '  ? NonNullable<B> extends { content: infer C } ? (M extends keyof C ? C[M] : unknown) : unknown',
    '  : unknown;',
    '// What a handler returns: the JSON of its 200 (else 201) response, `void` for one without content.',
    "type JsonOf<C> = 'application/json' extends keyof C ? C['application/json'] : C[keyof C];",
    'type ContentOf<X> = X extends { content: infer C } ? ([C] extends [never] ? void : JsonOf<C>) : void;',
    'type ResultOf<O> = O extends { responses: infer R }',
    '  ? 200 extends keyof R ? ContentOf<R[200]> : 201 extends keyof R ? ContentOf<R[201]> : 204 extends keyof R ? void : unknown',
    '  : unknown;',
    '',
    '/**',
    ' * Handler arguments per operationId: the body (its properties at top level, or under `body`',
    ' * when it is not an object) plus the path parameters, as the async endpoints store them.',
    " * A type alias, not an interface, so it satisfies `definePlugin`'s `Record<string, unknown>`.",
    ' */',
    'export type OperationArgs = {',
  ];
  for (const { route, bodyMediaType } of details) {
    const op = `operations[${JSON.stringify(route.operationId)}]`;
    const parts = [`PathOf<${op}>`, `QueryOf<${op}>`];
    if (bodyMediaType) {
      const body = `BodyOf<${op}, ${JSON.stringify(bodyMediaType)}>`;
      parts.unshift(route.bodyKey ? `{ ${JSON.stringify(route.bodyKey)}: ${body} }` : body);
    }
    lines.push(`  /** ${route.method} ${route.path.replace(/\*\//g, '*\\/')} */`);
    lines.push(`  ${route.operationId}: ${parts.join(' & ')};`);
  }
  lines.push('};', '');
  lines.push(
    '/** Handler results per operationId (what Magento stores as `result_serialized_data`). */',
    'export type OperationResults = {',
  );
  for (const { route } of details) {
    lines.push(`  ${route.operationId}: ResultOf<operations[${JSON.stringify(route.operationId)}]>;`);
  }
  lines.push('};', '');
  const services = new Map<string, string[]>();
  for (const { route } of details) {
    if (route.service) services.set(route.service, [...(services.get(route.service) ?? []), route.operationId]);
  }
  lines.push(
    '/**',
    ' * Magento service methods → the operations (routes) that call them: an interceptor or handler',
    ' * keyed by the method applies to all of them.',
    ' */',
    'export type ServiceOperations = {',
  );
  for (const service of [...services.keys()].sort()) {
    lines.push(
      `  ${JSON.stringify(service)}: ${services
        .get(service)!
        .map((id) => JSON.stringify(id))
        .join(' | ')};`,
    );
  }
  lines.push('};', '');
  return lines.join('\n');
}
