/**
 * Where the magento-async package itself lies, the same from its TypeScript sources (a checkout)
 * and from its compiled JavaScript (dist/ of the installed package): files it ships (package.json,
 * the sample spec, the shipped plugins) are found from here, never from the working directory,
 * which is the user's project.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'magento-async')
      return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json of magento-async above ${import.meta.url}`);
  }
}

/** The package's folder (the checkout's root, or node_modules/magento-async). */
export const PACKAGE_ROOT = packageRoot();

/** Its package.json, read once. */
export const PACKAGE_JSON = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

/**
 * Whether this code runs compiled (dist/, JavaScript) or from the sources (TypeScript through
 * type stripping): modules of the package loaded by path take the same extension.
 */
export const COMPILED = import.meta.url.endsWith('.js');

/**
 * A module of the package by its source path (`plugins/http-forward/index.ts`): that file in a
 * checkout, its compiled JavaScript under dist/ in an installed package.
 */
export function packageModule(sourcePath: string): string {
  return COMPILED ? join(PACKAGE_ROOT, 'dist', sourcePath.replace(/\.ts$/, '.js')) : join(PACKAGE_ROOT, sourcePath);
}
