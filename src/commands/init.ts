/**
 * `magento-async init <dir>`: a store project of its own, depending on this package: its
 * package.json (scripts, magento-async, codegen's toolchain as devDependencies), the configuration,
 * a plugin with a passing kit test and a README (templates/project/), then `npm install`. The
 * user's plugins and generated code live there, never in the framework's tree.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { PACKAGE_JSON, PACKAGE_ROOT } from '../kernel/package.ts';

/** What may already be in the folder: an `npm install magento-async` made it so. */
const ALLOWED = new Set(['package.json', 'package-lock.json', 'node_modules', '.git', '.npmrc']);

interface PackageManifest {
  name?: string;
  version?: string;
  private?: boolean;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
  [key: string]: unknown;
}

/** The package an `allowScripts` key approves: `esbuild`, `esbuild@0.28.2`, `@scope/name@1`. */
function approvedPackage(key: string): string {
  return key.replace(/(?<=.)@.*$/, '');
}

/** npm's rules for a package name, loosely: lowercase, no spaces, URL-safe. */
function packageName(dir: string): string {
  return (
    basename(resolve(dir))
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '') || 'magento-async-store'
  );
}

export function projectManifest(existing: PackageManifest, dir: string): PackageManifest {
  const pkg = PACKAGE_JSON;
  return {
    name: existing.name ?? packageName(dir),
    version: existing.version ?? '0.1.0',
    private: existing.private ?? true,
    ...existing,
    type: 'module',
    scripts: {
      start: 'magento-async start',
      serve: 'magento-async serve',
      consumers: 'magento-async queue:consumers:start async.operations.all',
      test: 'node --test',
      ...existing.scripts,
    },
    // An `npm install <tarball or path>` before init named how to get magento-async: keep it.
    dependencies: {
      ...existing.dependencies,
      'magento-async': existing.dependencies?.['magento-async'] ?? `^${pkg.version}`,
    },
    // Codegen runs where the project is developed; a production install (--omit=dev) leaves it out.
    // Type-checking plugins (`npx tsc`, an editor) needs Node's types too.
    devDependencies: {
      ...pkg.peerDependencies,
      '@types/node': pkg.devDependencies['@types/node']!,
      ...existing.devDependencies,
    },
    // Install scripts a strict npm must run: Node 24 (the `node` dependency) and the embedded
    // PostgreSQL. Not the approvals of this package's own development (esbuild, its bundler): a
    // project installs none of its development dependencies.
    allowScripts: {
      ...Object.fromEntries(
        Object.entries(pkg.allowScripts).filter(([key]) => !Object.hasOwn(pkg.devDependencies, approvedPackage(key))),
      ),
      ...existing.allowScripts,
    },
  };
}

export async function init(dir: string, opts: { install: boolean }): Promise<void> {
  const target = resolve(dir);
  const where = relative(process.cwd(), target) || '.';
  const here = where === '.' ? 'this folder' : where;
  if (existsSync(target)) {
    const extra = readdirSync(target)
      .filter((name) => !ALLOWED.has(name))
      .sort();
    if (extra.length)
      throw new Error(
        `${where} is not empty (${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''}): init makes a new project.`,
      );
  }
  mkdirSync(target, { recursive: true });
  const manifestFile = join(target, 'package.json');
  const existing = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as PackageManifest) : {};
  cpSync(join(PACKAGE_ROOT, 'templates/project'), target, { recursive: true });
  // npm never packs a file named .gitignore: the template's is `gitignore`.
  renameSync(join(target, 'gitignore'), join(target, '.gitignore'));
  writeFileSync(manifestFile, `${JSON.stringify(projectManifest(existing, target), null, 2)}\n`);
  process.stdout.write(`Created a magento-async project in ${here}.\n`);
  if (opts.install) {
    process.stdout.write('Installing its dependencies (npm install)…\n');
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: target, stdio: 'inherit' });
    if (npm.status !== 0) throw new Error(`npm install failed in ${here}: run it there once the cause is fixed.`);
  }
  const cd = where === '.' ? '' : `cd ${where}\n  `;
  process.stdout.write(
    `Next:\n  ${cd}${opts.install ? '' : 'npm install\n  '}npx magento-async codegen --spec <your store's spec>\n  npm start\n  npm test\n`,
  );
}
