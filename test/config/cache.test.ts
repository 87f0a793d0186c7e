/**
 * A checkout's cached configuration modules (src/config/compiled.ts), as processes see them: the
 * first process writes them, a later one runs on them without TypeBox or ajv's compiler, a folder
 * of another key is never read, and a broken one costs only a compile (and is written anew).
 * Each test keeps its cache in a folder of its own (MAGENTO_ASYNC_CONFIG_CACHE), never the
 * checkout's, which other test files' processes read meanwhile.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CONFIG_CACHE_ENV, configCacheKey, KEY_PACKAGES, KEY_SOURCES } from '../../src/config/cache-key.ts';
import { PROJECT_ROOT } from '../support/checkout.ts';

const KEY = configCacheKey(PROJECT_ROOT);
const CONFIG = pathToFileURL(join(PROJECT_ROOT, 'src/config.ts')).href;

/**
 * A process that loads the configuration from `env` and says what it got (the port, or the error)
 * and whether it loaded TypeBox or ajv's compiler (module hooks see every module it resolves).
 */
const PROBE = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); seen.push(r.url); return r; } });
const { loadConfig } = await import(${JSON.stringify(CONFIG)});
let result;
try { result = 'port ' + loadConfig({ env: JSON.parse(process.argv[1]) }).port; } catch (error) { result = error.message; }
const compiled = seen.some((url) => /@sinclair\\/typebox|ajv\\/dist\\/(ajv|core)\\.js/.test(url));
console.log(JSON.stringify({ result, compiled }));
`;

interface Probe {
  result: string;
  compiled: boolean;
}

async function probe(cache: string, env: Record<string, string> = {}): Promise<Probe> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '--eval', PROBE, JSON.stringify(env)],
    { cwd: tmpdir(), env: { ...process.env, [CONFIG_CACHE_ENV]: cache } },
  );
  return JSON.parse(stdout) as Probe;
}

function cacheDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'config-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const folder = (cache: string) => join(cache, `config-${KEY}`);

test('the first process writes the cache, a later one validates with it and loads neither TypeBox nor ajv', async (t) => {
  const cache = cacheDir(t);
  const first = await probe(cache, { PORT: '70000' });
  assert.match(first.result, /^Invalid configuration "port" \(from env PORT\): expected an integer from 0 to 65535/);
  assert.equal(first.compiled, true);
  assert.deepEqual(readdirSync(cache), [`config-${KEY}`], 'one folder, no temporary one left');
  assert.deepEqual(readdirSync(folder(cache)).sort(), ['schema.mjs', 'validator.mjs']);

  for (const [env, result] of [
    [{ PORT: '70000' }, first.result],
    [{ PORT: '9000' }, 'port 9000'],
    [{}, 'port 8080'],
  ] as const) {
    assert.deepEqual(await probe(cache, env), { result, compiled: false }, JSON.stringify(env));
  }

  // What it runs is the cache's: a default changed there and a validator that rejects everything.
  const schema = join(folder(cache), 'schema.mjs');
  writeFileSync(schema, readFileSync(schema, 'utf8').replace('"default":8080', '"default":8181'));
  assert.deepEqual(await probe(cache), { result: 'port 8181', compiled: false });
  writeFileSync(
    join(folder(cache), 'validator.mjs'),
    "export function configValidator() { const v = () => { v.errors = [{ instancePath: '/mode', keyword: 'enum', params: {} }]; return false; }; return v; }\n",
  );
  assert.match((await probe(cache)).result, /^Invalid configuration "mode" \(from the default\)/);
});

test('processes starting at once on an empty cache all validate, and leave one whole folder', async (t) => {
  const cache = cacheDir(t);
  const results = await Promise.all(Array.from({ length: 6 }, () => probe(cache, { PORT: '9001' })));
  for (const { result } of results) assert.equal(result, 'port 9001');
  assert.deepEqual(readdirSync(cache), [`config-${KEY}`]);
  assert.deepEqual(await probe(cache, { PORT: '9001' }), { result: 'port 9001', compiled: false });
});

test('a folder of another key is not read: the process compiles, writes its own and removes the stale one', async (t) => {
  const cache = cacheDir(t);
  const stale = join(cache, 'config-0123456789abcdef');
  mkdirSync(stale);
  writeFileSync(
    join(stale, 'schema.mjs'),
    'export const LOG_LEVELS = []; export const MODES = []; export const ConfigSchema = {};\n',
  );
  writeFileSync(join(stale, 'validator.mjs'), 'export function configValidator() { return () => true; }\n');
  const run = await probe(cache, { PORT: '70000' });
  assert.match(run.result, /^Invalid configuration "port" \(from env PORT\)/);
  assert.equal(run.compiled, true);
  assert.deepEqual(readdirSync(cache), [`config-${KEY}`]);
});

test('the key changes with each source that builds the modules and with the versions of ajv and TypeBox', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'config-key-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const files = [...KEY_SOURCES, ...KEY_PACKAGES.map((name) => `node_modules/${name}/package.json`)];
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(PROJECT_ROOT, file), join(root, file));
  }
  assert.equal(configCacheKey(root), KEY, 'the same files, the same key');
  for (const file of files) {
    const original = readFileSync(join(root, file));
    writeFileSync(join(root, file), Buffer.concat([original, Buffer.from(' ')]));
    assert.notEqual(configCacheKey(root), KEY, file);
    writeFileSync(join(root, file), original);
  }
  assert.equal(configCacheKey(root), KEY);
});

test('the key covers every module the cached ones are built from: what a source imports at run time is a source too', () => {
  // A relative import that is not `import type`: a module whose edit could change the cache.
  const runtimeImport = /^import\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?'(\.{1,2}\/[^']+)'/gm;
  const missing: string[] = [];
  for (const source of KEY_SOURCES) {
    const text = readFileSync(join(PROJECT_ROOT, source), 'utf8');
    for (const [, spec] of text.matchAll(runtimeImport)) {
      const imported = join(dirname(source), spec!);
      if (!(KEY_SOURCES as readonly string[]).includes(imported)) missing.push(`${source} imports ${imported}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('a broken cache falls back to compiling, with the same result, and is written anew', async (t) => {
  for (const broken of ['schema.mjs', 'validator.mjs']) {
    const cache = cacheDir(t);
    await probe(cache);
    writeFileSync(join(folder(cache), broken), 'export const = ;\n');
    const fallback = await probe(cache, { PORT: '70000' });
    assert.match(fallback.result, /^Invalid configuration "port" \(from env PORT\)/, broken);
    assert.equal(fallback.compiled, true, broken);
    assert.deepEqual(await probe(cache, { PORT: '9002' }), { result: 'port 9002', compiled: false }, broken);
  }
  // No folder can be made there (a file stands in its way): every process compiles.
  const cache = cacheDir(t);
  writeFileSync(join(cache, 'file'), '');
  assert.deepEqual(await probe(join(cache, 'file'), { PORT: '9003' }), { result: 'port 9003', compiled: true });
  assert.equal(existsSync(join(cache, 'file', `config-${KEY}`)), false);
});
