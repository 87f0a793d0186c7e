/**
 * The key of a checkout's cached configuration modules (src/config/compiled.ts): what determines
 * them, read as files, so computing it loads neither TypeBox nor ajv.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The folder the cache is kept in instead of `<checkout>/var/cache`, when set. */
export const CONFIG_CACHE_ENV = 'MAGENTO_ASYNC_CONFIG_CACHE';

/**
 * The files whose contents determine the cached modules, relative to the checkout: the modules the
 * schema, ajv's setup and the cache are made of, with every module they import at run time
 * (test/config/cache.test.ts walks their imports to keep this list whole).
 */
export const KEY_SOURCES = [
  'src/config/schema.ts',
  'src/plugins/examples.ts',
  'src/kernel/package.ts',
  'src/config/ajv.ts',
  'src/config/formats.ts',
  'src/config/precompile.ts',
  'src/config/compiled.ts',
  'src/config/cache-key.ts',
] as const;
/** The packages whose versions do: ajv generates the validator, TypeBox the schema's data. */
export const KEY_PACKAGES = ['ajv', '@sinclair/typebox'] as const;

/** The cache key of the checkout at `root`: 16 hex digits of a SHA-256 of its KEY_SOURCES and KEY_PACKAGES. */
export function configCacheKey(root: string): string {
  const hash = createHash('sha256');
  for (const file of KEY_SOURCES)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(root, file)))
      .update('\0');
  // Their package.json read as a file: TypeBox's `exports` has no ./package.json to resolve.
  for (const name of KEY_PACKAGES)
    hash
      .update(`${name}\0`)
      .update(readFileSync(join(root, 'node_modules', name, 'package.json')))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}
