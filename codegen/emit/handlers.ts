/** handlers.gen.ts: the argument type of every operation's handler, built from types.gen.ts. */
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
  return lines.join('\n');
}
