/**
 * The journey (test/package/journey.ts) with this project's Node (its `node` dependency) first on
 * PATH, as a user with a current Node has it: npm runs on it too, and the bin never reruns itself.
 * Its project is the run's store project, made by `npm install <tarball>` and `npx magento-async
 * init .` on this same Node (test/support/package.ts freshProject).
 */
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { PACKAGE_JSON } from '../../src/kernel/package.ts';
import { projectNodeEnvironment } from '../support/package.ts';
import { journey, SPEC } from './journey.ts';

test(
  "the project's Node: npm install + init → codegen → npm start → 202 → final; a plugin package as a peer",
  {
    timeout: 1_200_000,
    skip: !existsSync(SPEC) && `${SPEC} not found (the real specs live only in the shared workspace)`,
  },
  async (t) => {
    await journey(t, {
      env: projectNodeEnvironment(),
      node: PACKAGE_JSON.dependencies.node!,
      via: 'npm',
      project: 'shared',
    });
  },
);
