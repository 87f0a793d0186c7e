/** routes.gen.ts: the route table the runtime mounts, plus where it came from. */
import type { Route } from '../../src/routes/types.ts';
import { header, type SpecMeta } from './header.ts';

export interface SpecInfo extends SpecMeta {
  title: string;
  version: string;
}

export function emitRoutes(routes: Route[], info: SpecInfo, routeTypesImport: string): string {
  return [
    header(info),
    `import type { Route } from '${routeTypesImport}';`,
    '',
    `export const specInfo = ${JSON.stringify(info, null, 2)} as const;`,
    '',
    `export const routes: readonly Route[] = ${JSON.stringify(routes, null, 2)};`,
    '',
  ].join('\n');
}
