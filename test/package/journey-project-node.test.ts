/**
 * The journey (test/package/journey.ts) with this project's Node (its `node` dependency) first on
 * PATH, as a user with a current Node has it: npm runs on it too, and the bin never reruns itself.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_JSON } from '../../src/kernel/package.ts';
import { machineEnvironment } from '../support/package.ts';
import { journey, SPEC } from './journey.ts';

const nodeBin = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin');
const machine = machineEnvironment({ DATABASE_URL: undefined });
const env = { ...machine, PATH: `${nodeBin}${delimiter}${machine.PATH}` };

test(
  "the project's Node: npm install + init → codegen → npm start → 202 → final; a plugin package as a peer",
  {
    timeout: 1_200_000,
    skip: !existsSync(SPEC) && `${SPEC} not found (the real specs live only in the shared workspace)`,
  },
  async (t) => {
    await journey(t, { env, node: PACKAGE_JSON.dependencies.node!, via: 'npm' });
  },
);
