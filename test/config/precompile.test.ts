/**
 * The package's build replaces the compiled configuration schema and validator with plain data and
 * ajv's standalone code (src/config/precompile.ts): both must amount to what the sources do.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { configDefaults } from '../../src/config.ts';
import { precompiledSchema, precompiledValidator } from '../../src/config/precompile.ts';
import * as source from '../../src/config/schema.ts';
import { configValidator } from '../../src/config/validator.ts';
import { PROJECT_ROOT } from '../support/checkout.ts';

test("the package's schema module exports the schema's values as data", async () => {
  const url = `data:text/javascript,${encodeURIComponent(precompiledSchema())}`;
  const compiled = (await import(url)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(compiled).sort(), Object.keys(source).sort());
  for (const [name, value] of Object.entries(source))
    assert.deepStrictEqual(compiled[name], JSON.parse(JSON.stringify(value)), name);
});

test("the package's standalone validator accepts and rejects what the checkout's compiled one does", async (t) => {
  // Beside the checkout's node_modules, so its require() of ajv's runtime helpers resolves.
  mkdirSync(join(PROJECT_ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(PROJECT_ROOT, '.cache/precompile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const formats = pathToFileURL(join(PROJECT_ROOT, 'src/config/formats.ts')).href;
  const code = precompiledValidator({ formats, packageJson: pathToFileURL(join(PROJECT_ROOT, 'package.json')).href });
  writeFileSync(join(dir, 'validator.js'), code);
  const standalone = (
    (await import(pathToFileURL(join(dir, 'validator.js')).href)) as {
      configValidator(): ValidateFunction;
    }
  ).configValidator();
  const compiled = configValidator();

  const valid = structuredClone(configDefaults) as unknown as Record<string, unknown>;
  const upstream = valid.upstream as Record<string, unknown>;
  const cases: [string, unknown][] = [
    ['the defaults', valid],
    ['an unknown key', { ...valid, porT: 1 }],
    ['a port out of range', { ...valid, port: 70_000 }],
    ['a string for an integer', { ...valid, port: '8080' }],
    ['a bad enum value', { ...valid, mode: 'dev' }],
    ['an upstream URL', { ...valid, upstream: { ...upstream, baseUrl: 'https://store.example/' } }],
    ['an upstream that is no http(s) URL', { ...valid, upstream: { ...upstream, baseUrl: 'ftp://x' } }],
    ['a bad identifier', { ...valid, schema: '1x' }],
    ['an empty plugin package name', { ...valid, pluginPackages: [''] }],
    ['a group that is not an object', { ...valid, consumer: 3 }],
  ];
  for (const [what, value] of cases) {
    const expected = compiled(structuredClone(value));
    assert.equal(standalone(structuredClone(value)), expected, what);
    assert.deepEqual(standalone.errors ?? null, compiled.errors ?? null, what);
  }
  assert.equal(compiled(valid), true, 'the defaults are valid');
});
