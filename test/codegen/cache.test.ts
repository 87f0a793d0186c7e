/**
 * The codegen cache (codegen/cache.ts): a generation kept under the spec's and the generator's
 * digest is reused byte for byte, wherever the output goes, without parsing the spec or loading
 * the generator's libraries; other spec bytes or another generator are another key; an entry a
 * writer did not finish is never reused, and a writer killed while generating holds nobody up;
 * without MAGENTO_ASYNC_CODEGEN_CACHE nothing is kept.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate, PROJECT_ROOT } from '../../codegen/index.ts';
import {
  cacheKey,
  CODEGEN_CACHE_ENV,
  generatorFingerprint,
  modulesDigest,
  SOURCE_DIGEST_FILE,
} from '../../codegen/cache.ts';
import { loadSpec } from '../../codegen/load-spec.ts';
import { readSpecSource } from '../../codegen/spec-source.ts';
import { waitFor } from '../support/wait.ts';

const SAMPLE = join(PROJECT_ROOT, 'openapi/magento-sample.yaml');

/** The files as text: a kept generation's are the bytes it was kept as. */
const text = (files: Map<string, string | Buffer>) => [...files].map(([name, content]) => [name, content.toString()]);

/** A temporary folder and MAGENTO_ASYNC_CODEGEN_CACHE as the test found it, both restored after it. */
function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'codegen-cache-'));
  const before = process.env[CODEGEN_CACHE_ENV];
  t.after(() => {
    if (before === undefined) delete process.env[CODEGEN_CACHE_ENV];
    else process.env[CODEGEN_CACHE_ENV] = before;
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The sample's generation made without a cache: what any cached one must equal. */
async function uncached(out: string) {
  const before = process.env[CODEGEN_CACHE_ENV];
  delete process.env[CODEGEN_CACHE_ENV];
  try {
    return await generate(await readSpecSource(SAMPLE), out);
  } finally {
    if (before !== undefined) process.env[CODEGEN_CACHE_ENV] = before;
  }
}

/** The folder the sample's generation is kept in under the cache `root`, by this checkout's generator. */
async function sampleEntry(root: string): Promise<string> {
  const spec = await readSpecSource(SAMPLE);
  return join(root, cacheKey(spec, generatorFingerprint(join(PROJECT_ROOT, 'codegen'), PROJECT_ROOT)));
}

test('a kept generation is reused byte for byte; other spec bytes are another entry', async (t) => {
  const dir = scratch(t);
  const cache = join(dir, 'cache');

  delete process.env[CODEGEN_CACHE_ENV];
  const fresh = await generate(await loadSpec(SAMPLE), join(dir, 'a'));
  assert.equal(existsSync(cache), false, 'nothing kept without the setting');

  process.env[CODEGEN_CACHE_ENV] = cache;
  const first = await generate(await loadSpec(SAMPLE), join(dir, 'a'));
  assert.equal(readdirSync(cache).length, 1);
  // A generation into another folder: only the route table's import differs, as without a cache.
  const again = await generate(await loadSpec(SAMPLE), join(dir, 'b', 'deeper'));
  const freshElsewhere = await (async () => {
    delete process.env[CODEGEN_CACHE_ENV];
    try {
      return await generate(await loadSpec(SAMPLE), join(dir, 'b', 'deeper'));
    } finally {
      process.env[CODEGEN_CACHE_ENV] = cache;
    }
  })();
  assert.deepEqual(text(first.files), text(fresh.files));
  assert.deepEqual(text(again.files), text(freshElsewhere.files));
  assert.deepEqual(again.routes, fresh.routes);
  assert.deepEqual(again.diagnostics, fresh.diagnostics);
  assert.equal(readdirSync(cache).length, 1, 'the second and third were read from it');

  const changed = join(dir, 'magento-sample.yaml');
  writeFileSync(changed, `${readFileSync(SAMPLE, 'utf8')}\n# another byte\n`);
  await generate(await loadSpec(changed), join(dir, 'c'));
  assert.equal(readdirSync(cache).length, 2, 'other bytes, another entry');
});

test('a spec given as its bytes: one changed byte is generated anew, the same bytes are not parsed again', async (t) => {
  const dir = scratch(t);
  process.env[CODEGEN_CACHE_ENV] = join(dir, 'cache');
  const spec = join(dir, 'magento-sample.yaml');
  cpSync(SAMPLE, spec);
  const first = await generate(await readSpecSource(spec), join(dir, 'out'));
  appendFileSync(spec, '# one more line\n');
  const changed = await readSpecSource(spec);
  const second = await generate(changed, join(dir, 'out'));
  assert.match(second.files.get('routes.gen.js')!.toString(), new RegExp(`sha256 ${changed.sha256}`));
  assert.notDeepEqual(text(second.files), text(first.files));
  assert.equal(readdirSync(join(dir, 'cache')).length, 2);

  // The command as a user runs it, twice: the second reuses the generation without loading the
  // YAML parser, the Swagger converter, the TypeScript compiler or ajv (the modules it loads are
  // listed by a loader hook).
  const hook = join(dir, 'hook.mjs');
  const loaded = join(dir, 'loaded.txt');
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
     import { appendFileSync } from 'node:fs';
     registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(loaded)}, url + '\\n'); return next(url, context); } });`,
  );
  const codegen = (...node: string[]) =>
    spawnSync(
      process.execPath,
      [
        ...node,
        join(PROJECT_ROOT, 'bin/magento-async.js'),
        'codegen',
        '--spec',
        spec,
        '--out',
        'generated',
        '--no-stubs',
      ],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, MAGENTO_ASYNC_CONFIG: undefined } },
    );
  const made = codegen();
  assert.equal(made.status, 0, made.stderr);
  const reused = codegen('--import', pathToFileURL(hook).href);
  assert.equal(reused.status, 0, reused.stderr);
  assert.match(reused.stdout, /0 files written, 9 unchanged/);
  const modules = readFileSync(loaded, 'utf8');
  assert.match(modules, /codegen\/cache\.ts/, 'the hook saw the command');
  // Their package.json files are read (the generator's key has their versions); ajv's runtime
  // helpers serve the configuration's precompiled validator.
  for (const heavy of ['yaml', 'swagger2openapi', 'typescript', 'openapi-typescript', 'ajv'])
    assert.doesNotMatch(modules, new RegExp(`node_modules/${heavy}/(?!package\\.json$|dist/runtime/)`, 'm'), heavy);
  assert.doesNotMatch(modules, /codegen\/(load-spec|generate-files|emit\/validators)\.ts/);
});

test("another generator is another key: a changed module of codegen, or its build's recorded digest", (t) => {
  const dir = scratch(t);
  const codegen = join(dir, 'codegen');
  cpSync(join(PROJECT_ROOT, 'codegen'), codegen, { recursive: true });
  const spec = { file: 'magento-sample.yaml', sha256: 'a'.repeat(64) };
  const before = generatorFingerprint(codegen, PROJECT_ROOT);
  assert.equal(before, generatorFingerprint(join(PROJECT_ROOT, 'codegen'), PROJECT_ROOT), 'its modules decide');
  appendFileSync(join(codegen, 'route-table.ts'), '\n');
  const after = generatorFingerprint(codegen, PROJECT_ROOT);
  assert.notEqual(after, before);
  assert.notEqual(cacheKey(spec, after), cacheKey(spec, before));
  // The package's compiled generator is keyed by the digest of the sources its build recorded.
  writeFileSync(join(codegen, SOURCE_DIGEST_FILE), `${modulesDigest(join(PROJECT_ROOT, 'codegen'))}\n`);
  assert.equal(generatorFingerprint(codegen, PROJECT_ROOT), before);
});

test('an entry a writer did not finish is never reused: it is made again', async (t) => {
  const dir = scratch(t);
  const root = join(dir, 'cache');
  process.env[CODEGEN_CACHE_ENV] = root;
  const entry = await sampleEntry(root);
  const fresh = await uncached(join(dir, 'out'));

  // A writer killed while writing leaves its temporary folder, never a folder under the key.
  mkdirSync(join(`${entry}.999999`, 'files'), { recursive: true });
  writeFileSync(join(`${entry}.999999`, 'files', 'validators.gen.js'), 'export const validators = {');
  assert.deepEqual(text((await generate(await readSpecSource(SAMPLE), join(dir, 'out'))).files), text(fresh.files));
  assert.ok(existsSync(join(entry, 'generation.json')));

  // An entry whose file is not as long as recorded (cut short) is not read, and is replaced.
  const file = join(entry, 'files', 'validators.gen.js');
  const whole = statSync(file).size;
  truncateSync(file, 100);
  assert.deepEqual(text((await generate(await readSpecSource(SAMPLE), join(dir, 'out'))).files), text(fresh.files));
  assert.equal(statSync(file).size, whole);
});

test('a generator killed while generating holds nobody up: the next one generates', { timeout: 60_000 }, async (t) => {
  const dir = scratch(t);
  const root = join(dir, 'cache');
  process.env[CODEGEN_CACHE_ENV] = root;
  const entry = await sampleEntry(root);
  // A process that takes the entry's lock and generates for ever (until it is killed).
  const stuck = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { cachedGeneration } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'codegen/cache.ts')).href)});
       const { readSpecSource } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'codegen/spec-source.ts')).href)});
       process.stdin.resume();
       await cachedGeneration(await readSpecSource(${JSON.stringify(SAMPLE)}), () => new Promise(() => {}));`,
    ],
    { env: { ...process.env }, stdio: ['pipe', 'ignore', 'inherit'] },
  );
  const exited = new Promise((resolve) => stuck.once('exit', resolve));
  t.after(() => stuck.kill('SIGKILL'));
  await waitFor(() => existsSync(join(`${entry}.lock`, 'pid')), 20_000, 'the stuck generator to take the lock');
  stuck.kill('SIGKILL');
  await exited;
  const fresh = await uncached(join(dir, 'out'));
  assert.deepEqual(text((await generate(await readSpecSource(SAMPLE), join(dir, 'out'))).files), text(fresh.files));
  assert.ok(existsSync(join(entry, 'generation.json')));
});
