/**
 * The configuration schema as data and its validator, as src/config.ts uses them, without TypeBox
 * or ajv's compiler in the process: together about 0.25 s of CPU of every start from the sources,
 * which the test suite pays hundreds of times. In a checkout they come from a cache on disk,
 * `<checkout>/var/cache/config-<key>/`: the two modules the package's build writes
 * (src/config/precompile.ts), made by the first process that finds none and reused by every later
 * one. The package's build replaces this module with a re-export of its own precompiled copies
 * (scripts/build.js), so none of this runs from dist/.
 *
 * The key (src/config/cache-key.ts) changes with any edit of the sources that build the two
 * modules and with the versions of ajv and TypeBox, so a stale folder is never reused. A folder
 * appears whole or not at all (written beside it and renamed, as codegen's cache does in
 * src/runtime/artifacts.ts): many processes may start at once. A cache that cannot be read or
 * written costs only time: the process compiles in memory as before.
 *
 * MAGENTO_ASYNC_CONFIG_CACHE names another folder to keep it in (tests; a read-only checkout).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { CONFIG_CACHE_ENV, configCacheKey } from './cache-key.ts';
import type * as Source from './schema.ts';
// Evaluated before a cached validator is required, which imports it too.
import './formats.ts';

type SchemaModule = typeof Source;

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../', import.meta.url));
// Where the cached validator, outside src/, finds what the package's finds beside it.
const from = {
  formats: new URL('./formats.ts', import.meta.url).href,
  packageJson: new URL('../../package.json', import.meta.url).href,
};

function cacheFolder(): string | null {
  try {
    const parent = process.env[CONFIG_CACHE_ENV] || join(root, 'var/cache');
    return join(parent, `config-${configCacheKey(root)}`);
  } catch {
    return null;
  }
}

/** A module of the cache, or null when it is missing or unusable (the caller then compiles). */
function cached<T>(dir: string, file: string, usable: (m: Record<string, unknown>) => boolean): T | null {
  try {
    const module = require(join(dir, file)) as Record<string, unknown>;
    return usable(module) ? (module as T) : null;
  } catch {
    return null;
  }
}

const isSchemaModule = (m: Record<string, unknown>) =>
  typeof m.ConfigSchema === 'object' && Array.isArray(m.LOG_LEVELS) && Array.isArray(m.MODES);
const isValidatorModule = (m: Record<string, unknown>) => typeof m.configValidator === 'function';

/**
 * Writes the folder `dir` from the sources, whole: beside it first, then renamed into place (a
 * process that loses the race to another finds the same folder there). `replace`: one is there and
 * unusable. Other keys' folders go: they belong to sources this checkout no longer has.
 */
function writeCache(dir: string, replace: boolean): void {
  const precompile = require('./precompile.ts') as typeof import('./precompile.ts');
  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'schema.mjs'), precompile.precompiledSchema());
    writeFileSync(join(staging, 'validator.mjs'), precompile.precompiledValidator(from));
    if (replace) rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(staging, dir);
    } catch (error) {
      if (!existsSync(dir)) throw error;
    }
    const name = dir.slice(dirname(dir).length + 1);
    for (const other of readdirSync(dirname(dir)))
      if (/^config-[0-9a-f]{16}$/.test(other) && other !== name)
        rmSync(join(dirname(dir), other), { recursive: true, force: true });
  } catch {
    // Not cached: the next process compiles as well.
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function load(): { schema: SchemaModule; validator: () => ValidateFunction } {
  const dir = cacheFolder();
  const inMemory = () => (require('./validator.ts') as typeof import('./validator.ts')).configValidator();
  if (dir === null) return { schema: require('./schema.ts') as SchemaModule, validator: inMemory };
  const existed = existsSync(dir);
  let schema = existed ? cached<SchemaModule>(dir, 'schema.mjs', isSchemaModule) : null;
  if (schema === null) {
    writeCache(dir, existed);
    // A module that failed to load stays failed in this process: only a fresh folder is read back.
    schema = (!existed && cached<SchemaModule>(dir, 'schema.mjs', isSchemaModule)) || null;
    if (schema === null) return { schema: require('./schema.ts') as SchemaModule, validator: inMemory };
  }
  return {
    schema,
    validator: () => {
      const module = cached<{ configValidator(): ValidateFunction }>(dir, 'validator.mjs', isValidatorModule);
      if (module !== null) return module.configValidator();
      writeCache(dir, true);
      return inMemory();
    },
  };
}

const loaded = load();

export const { LOG_LEVELS, MODES, ConfigSchema } = loaded.schema;

let validator: ValidateFunction | undefined;

/** The validator of `ConfigSchema`, loaded (or compiled) once per process. */
export function configValidator(): ValidateFunction {
  return (validator ??= loaded.validator());
}
