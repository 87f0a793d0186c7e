/**
 * Where the magento-async package itself lies, the same from its TypeScript sources (a checkout)
 * and from its compiled JavaScript (dist/ of the installed package): files it ships (package.json,
 * the sample spec, the shipped plugins) are found from here, never from the working directory,
 * which is the user's project.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/**
 * In a checkout of magento-async (running from its sources), the two folders of the framework's
 * own tree that a store's code would otherwise land in: `src/generated`, the generated sample (the
 * test kit's default routes, what the tests and the checkout's `npm start` run; `npm run codegen`
 * writes it and CI's drift check guards it), and `plugins`, which holds the built-in plugin. A
 * store's generated code and plugins live in a project of its own (`magento-async init`), so the
 * framework's tree never depends on what a user wrote into it. Null for any other path, and always
 * in an installed package.
 */
export function frameworkFolder(path: string): 'src/generated' | 'plugins' | null {
  if (COMPILED) return null;
  const full = resolve(path);
  for (const folder of ['src/generated', 'plugins'] as const) if (full === join(PACKAGE_ROOT, folder)) return folder;
  return null;
}

/** What to do instead, for the messages that refuse to write into those folders. */
export const STORE_PROJECT_HINT = 'make a store project (`npx magento-async init <dir>`) and run it there';
