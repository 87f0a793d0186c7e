/** The package's own facts the bin relies on (src/bin.ts skips the engines check for its declared Node). */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import satisfies from 'semver/functions/satisfies.js';
import { PACKAGE_JSON, PACKAGE_ROOT } from '../../src/kernel/package.ts';

test('the Node the package declares as its `node` dependency satisfies its engines range', () => {
  const declared = PACKAGE_JSON.dependencies.node!;
  assert.match(declared, /^\d+\.\d+\.\d+$/, 'an exact version, so the check of the running Node can compare it');
  assert.ok(satisfies(declared, PACKAGE_JSON.engines.node), `${declared} vs ${PACKAGE_JSON.engines.node}`);
});

test('create-magento-async (npm create magento-async) is released with magento-async and runs its init', () => {
  const create = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'packages/create-magento-async/package.json'), 'utf8')) as {
    name: string;
    version: string;
    bin: Record<string, string>;
    dependencies: Record<string, string>;
  };
  // npm create <name> runs the bin of the package create-<name>.
  assert.equal(create.name, `create-${PACKAGE_JSON.name}`);
  assert.deepEqual(Object.keys(create.bin), [create.name]);
  assert.equal(create.version, PACKAGE_JSON.version);
  assert.deepEqual(create.dependencies, { [PACKAGE_JSON.name]: PACKAGE_JSON.version });
});
