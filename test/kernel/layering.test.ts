/**
 * The floor and the front doors: src/kernel/ (types every layer shares) imports nothing of the
 * framework, and no module of the framework imports a public entry point (what `magento-async`,
 * `magento-async/plugin` and `magento-async/testing` resolve to), so the public surface can change
 * shape without the inside following it.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../support/checkout.ts';

const SRC = join(PROJECT_ROOT, 'src');
const PUBLIC_ENTRIES = ['src/index.ts', 'src/plugin.ts', 'src/testing/index.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of static imports and re-exports, and of dynamic `import('…')` calls. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s+'(\.[^']+)'/g)].map((m) => m[1]!);
  found.push(...[...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]!));
  return found.map((specifier) => relative(PROJECT_ROOT, resolve(dirname(file), specifier)));
}

const files = sourceFiles(SRC).map((file) => ({ file: relative(PROJECT_ROOT, file), imports: importsOf(file) }));

test('the scan sees the imports it judges (a broken regex would pass everything)', () => {
  const app = files.find((f) => f.file === 'src/http/app.ts');
  assert.ok(app?.imports.includes('src/kernel/logger.ts'), `src/http/app.ts imports: ${app?.imports.join(', ')}`);
});

test('no module of the framework imports a public entry point', () => {
  const offenders = files
    .filter(({ file }) => !PUBLIC_ENTRIES.includes(file))
    .flatMap(({ file, imports }) => imports.filter((i) => PUBLIC_ENTRIES.includes(i)).map((i) => `${file} → ${i}`));
  assert.deepEqual(offenders, []);
});

test('src/kernel/ imports nothing of the framework above it', () => {
  const offenders = files
    .filter(({ file }) => file.startsWith('src/kernel/'))
    .flatMap(({ file, imports }) => imports.filter((i) => !i.startsWith('src/kernel/')).map((i) => `${file} → ${i}`));
  assert.deepEqual(offenders, []);
});
