/**
 * The published generator is keyed in codegen caches (codegen/cache.ts) by the digest of the
 * sources it was compiled from, recorded by the build beside it: a project's codegen and this
 * checkout's then share a cached generation of one spec instead of each making its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { modulesDigest, SOURCE_DIGEST_FILE } from '../../codegen/cache.ts';
import { PROJECT_ROOT } from '../../codegen/spec-record.ts';
import { packedTarball } from '../support/package.ts';

test("the packed generator records its sources' digest, the one a checkout keys its generations by", async () => {
  const recorded = execFileSync('tar', ['-xzOf', await packedTarball(), `package/dist/codegen/${SOURCE_DIGEST_FILE}`], {
    encoding: 'utf8',
  });
  assert.equal(recorded.trim(), modulesDigest(join(PROJECT_ROOT, 'codegen')));
});
