/**
 * Plugin packages (`pluginPackages`): npm packages whose default export is a plugin, found in the
 * PROJECT's node_modules (the directory the command runs in, walking up as Node does), not in the
 * framework's own: a project that depends on magento-async through a link or a workspace keeps its
 * plugins beside its other dependencies. A package is checked before it is imported, so a missing
 * package, a `peerDependencies` range this framework does not satisfy or an entry Node cannot load
 * each becomes one load problem naming the package and what to do, instead of a resolver stack.
 * The plugin's own `compatibility` is then checked by the loader like any other plugin's.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { satisfies, validRange } from 'semver';

export interface PackageCandidate {
  /** How messages name it: `package <name>`. */
  source: string;
  module: Record<string, unknown>;
}

export interface ImportPackagesOptions {
  /** Where the project's node_modules are looked up from. Default: the working directory. */
  projectDir?: string;
  /** The framework version a package's `peerDependencies["magento-async"]` must accept. */
  frameworkVersion: string;
}

const FRAMEWORK = 'magento-async';
const NAME = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i;

interface PackageJson {
  name?: string;
  version?: string;
  main?: string;
  exports?: unknown;
  peerDependencies?: Record<string, string>;
}

/** `node_modules/<name>` in the project directory or the nearest parent that has it. */
export function findPackageDir(name: string, projectDir: string): string | null {
  for (let dir = resolve(projectDir); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * The file `import(name)` would load, by the package's `exports` (`"."`: a string, or a conditions
 * object read with the `import`/`node`/`default` conditions) or `main`, else `index.js`.
 */
export function entryOf(dir: string, pkg: PackageJson): string | null {
  const pick = (target: unknown): string | null => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) {
      for (const t of target) {
        const found = pick(t);
        if (found) return found;
      }
      return null;
    }
    if (target && typeof target === 'object') {
      const conditions = target as Record<string, unknown>;
      for (const c of ['import', 'node', 'default']) if (c in conditions) return pick(conditions[c]);
    }
    return null;
  };
  let exported: unknown = pkg.exports;
  if (exported && typeof exported === 'object' && !Array.isArray(exported)) {
    const keys = Object.keys(exported);
    if (keys.some((k) => k.startsWith('.'))) exported = (exported as Record<string, unknown>)['.'];
  }
  const target = exported !== undefined ? pick(exported) : (pkg.main ?? 'index.js');
  if (!target) return null;
  let file = resolve(dir, target);
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.js');
  return existsSync(file) ? file : null;
}

function insideNodeModules(file: string): boolean {
  return realpathSync(file).split(sep).includes('node_modules');
}

/** Imports each package; what cannot be imported is a problem, and the others still load. */
export async function importPackages(
  names: readonly string[],
  options: ImportPackagesOptions,
  problems: string[],
): Promise<PackageCandidate[]> {
  const projectDir = resolve(options.projectDir ?? process.cwd());
  const candidates: PackageCandidate[] = [];
  for (const name of names) {
    const source = `package ${name}`;
    const say = (why: string) => problems.push(`${source}: ${why}`);
    let dir: string | null;
    if (isAbsolute(name)) {
      // An absolute path: a package folder or a module file, outside any node_modules.
      if (!existsSync(name)) {
        say(`${name} does not exist.`);
        continue;
      }
      dir = statSync(name).isDirectory() ? name : null;
      if (!dir) {
        const loaded = await importFile(name, say);
        if (loaded) candidates.push({ source, module: loaded });
        continue;
      }
    } else if (!NAME.test(name)) {
      say('is not an npm package name (or an absolute path).');
      continue;
    } else {
      dir = findPackageDir(name, projectDir);
      if (!dir) {
        say(`is not installed in ${join(projectDir, 'node_modules')}: run \`npm install ${name}\` in ${projectDir}.`);
        continue;
      }
    }
    let pkg: PackageJson;
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    } catch (error) {
      say(`its package.json (${join(dir, 'package.json')}) cannot be read: ${(error as Error).message}`);
      continue;
    }
    const wanted = pkg.peerDependencies?.[FRAMEWORK];
    if (wanted !== undefined && (!validRange(wanted) || !satisfies(options.frameworkVersion, wanted))) {
      say(
        `${pkg.name ?? name}@${pkg.version ?? '?'} requires ${FRAMEWORK} ${wanted} (peerDependencies), but this is ${FRAMEWORK} ${options.frameworkVersion}.`,
      );
      continue;
    }
    const entry = entryOf(dir, pkg);
    if (!entry) {
      say(
        `its package.json names no entry file that exists (set "exports" or "main" in ${join(dir, 'package.json')}).`,
      );
      continue;
    }
    if (/\.[mc]?ts$/.test(entry) && insideNodeModules(entry)) {
      say(
        `its entry ${entry} is TypeScript, which Node does not run from node_modules: publish JavaScript (an index.js with JSDoc types, or compiled output).`,
      );
      continue;
    }
    const loaded = await importFile(entry, say);
    if (loaded) candidates.push({ source, module: loaded });
  }
  return candidates;
}

async function importFile(file: string, say: (why: string) => void): Promise<Record<string, unknown> | null> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    say(`cannot be imported (${file}): ${(error as Error).message}`);
    return null;
  }
}
