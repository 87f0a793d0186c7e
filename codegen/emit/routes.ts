/**
 * routes.gen.js: the route table the runtime mounts, plus where it came from, as plain JavaScript
 * (serve and the consumers import it with no type stripping); routes.gen.d.ts types it for plugins
 * and tests.
 */
import type { Route } from '../../src/routes/types.ts';
import { header, type SpecMeta } from './header.ts';

export interface SpecInfo extends SpecMeta {
  title: string;
  version: string;
}

export function emitRoutes(routes: Route[], info: SpecInfo): string {
  return [
    header(info),
    `export const specInfo = Object.freeze(${JSON.stringify(info, null, 2)});`,
    '',
    `export const routes = ${JSON.stringify(routes, null, 2)};`,
    '',
  ].join('\n');
}

export function emitRoutesTypes(info: SpecInfo, routeTypesImport: string): string {
  return [
    header(info),
    `import type { Route } from '${routeTypesImport}';`,
    '',
    `export declare const specInfo: {`,
    ...Object.entries(info).map(([key, value]) => `  readonly ${key}: ${JSON.stringify(value)};`),
    '};',
    '',
    'export declare const routes: readonly Route[];',
    '',
  ].join('\n');
}
