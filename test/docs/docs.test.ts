/**
 * Every Markdown file with a block to run has its doc test: `test/docs/<name>.md.test.ts` runs
 * README.md (`readme.md.test.ts`) or docs/<name>.md with `testDocFile` (test/docs/doc-file.ts), so
 * a new page's examples cannot go untested.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { documentedFiles, hasRunnableBlocks } from './doc-file.ts';

const testFileOf = (file: string) =>
  join(PROJECT_ROOT, 'test/docs', `${file === 'README.md' ? 'readme' : basename(file, '.md')}.md.test.ts`);

for (const file of documentedFiles().filter(hasRunnableBlocks)) {
  test(`${file} is run by its doc test`, () => {
    const path = testFileOf(file);
    assert.ok(existsSync(path), `${file} has blocks to run: add ${path} calling testDocFile('${file}')`);
    assert.match(readFileSync(path, 'utf8'), new RegExp(`testDocFile\\('${file.replace('.', '\\.')}'\\)`));
  });
}
