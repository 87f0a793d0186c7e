/** The package's own facts the bin relies on (src/bin.ts skips the engines check for its declared Node). */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import satisfies from 'semver/functions/satisfies.js';
import { PACKAGE_JSON } from '../../src/kernel/package.ts';

test('the Node the package declares as its `node` dependency satisfies its engines range', () => {
  const declared = PACKAGE_JSON.dependencies.node!;
  assert.match(declared, /^\d+\.\d+\.\d+$/, 'an exact version, so the check of the running Node can compare it');
  assert.ok(satisfies(declared, PACKAGE_JSON.engines.node), `${declared} vs ${PACKAGE_JSON.engines.node}`);
});
