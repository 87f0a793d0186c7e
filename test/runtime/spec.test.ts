import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCodegen, PROJECT_ROOT } from '../../codegen/index.ts';
import { checkSpec, readSpecRecord, SpecMismatchError } from '../../src/runtime/spec.ts';

test('codegen records the spec it ran on; start/serve compare against it', async (t) => {
  mkdirSync(join(PROJECT_ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(PROJECT_ROOT, '.cache', 'spec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'store.yaml');
  cpSync(join(PROJECT_ROOT, 'openapi/magento-sample.yaml'), spec);
  const out = join(dir, 'generated');
  await runCodegen({ spec, out, plugins: false, warn: null });

  const record = readSpecRecord(out)!;
  assert.equal(record.source, `.cache/${dir.split('/').pop()}/store.yaml`, 'relative to the project root');
  assert.equal(record.file, 'store.yaml');
  assert.equal(checkSpec({ generatedDir: out, configured: undefined }).state, 'current');
  assert.equal(checkSpec({ generatedDir: out, configured: spec }).state, 'current', 'the same file, named absolutely');

  assert.throws(
    () => checkSpec({ generatedDir: out, configured: 'openapi/other.yaml' }),
    (e: Error) =>
      e instanceof SpecMismatchError &&
      e.message.includes(record.source) &&
      e.message.includes('openapi/other.yaml') &&
      e.message.includes('npx magento-async codegen --spec openapi/other.yaml'),
  );

  writeFileSync(spec, '# edited\n', { flag: 'a' });
  const changed = checkSpec({ generatedDir: out, configured: undefined });
  assert.equal(changed.state, 'changed');

  assert.throws(() => checkSpec({ generatedDir: join(dir, 'none'), configured: undefined }), SpecMismatchError);
});
