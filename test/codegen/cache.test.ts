/**
 * The codegen cache (codegen/cache.ts): a generation kept under the spec's and the generator's
 * digest is reused byte for byte, wherever the output goes; other bytes are another key; without
 * MAGENTO_ASYNC_CODEGEN_CACHE nothing is kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, PROJECT_ROOT } from '../../codegen/index.ts';
import { CODEGEN_CACHE_ENV } from '../../codegen/cache.ts';
import { loadSpec } from '../../codegen/load-spec.ts';

const SAMPLE = join(PROJECT_ROOT, 'openapi/magento-sample.yaml');

test('a kept generation is reused byte for byte; other spec bytes are another entry', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'codegen-cache-'));
  const before = process.env[CODEGEN_CACHE_ENV];
  t.after(() => {
    if (before === undefined) delete process.env[CODEGEN_CACHE_ENV];
    else process.env[CODEGEN_CACHE_ENV] = before;
    rmSync(dir, { recursive: true, force: true });
  });
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
  assert.deepEqual([...first.files], [...fresh.files]);
  assert.deepEqual([...again.files], [...freshElsewhere.files]);
  assert.deepEqual(again.routes, fresh.routes);
  assert.deepEqual(again.diagnostics, fresh.diagnostics);
  assert.equal(readdirSync(cache).length, 1, 'the second and third were read from it');

  const changed = join(dir, 'magento-sample.yaml');
  writeFileSync(changed, `${readFileSync(SAMPLE, 'utf8')}\n# another byte\n`);
  await generate(await loadSpec(changed), join(dir, 'c'));
  assert.equal(readdirSync(cache).length, 2, 'other bytes, another entry');
});
