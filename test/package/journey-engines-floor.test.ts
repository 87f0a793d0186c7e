/**
 * The journey (test/package/journey.ts) on the oldest Node `engines` allows (22.18: type stripping
 * on by default), run by that Node itself: `node <bin> …` and `node --test` rather than npm
 * scripts, which would take the project's own Node. That Node is the `node` package of npm, as
 * `npx node@<version>` has it, from npm's cache only (CI's .ci/run puts it there: test/support/
 * package.ts cachedNode): without it the test is skipped, saying so. Its
 * project is a copy of the run's store project (what npm installs does not depend on the Node that
 * runs the package); `init`, codegen, the kit tests, the server and `bulk:status` run on 22.18.
 */
import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { test } from 'node:test';
import minVersion from 'semver/ranges/min-version.js';
import { PACKAGE_JSON } from '../../src/kernel/package.ts';
import { cachedNode, machineEnvironment } from '../support/package.ts';
import { journey, SPEC } from './journey.ts';

const FLOOR = minVersion(PACKAGE_JSON.engines.node)!.version;

test(
  `the engines floor, Node ${FLOOR}: init → codegen → start → 202 → final; a plugin package as a peer`,
  {
    timeout: 1_200_000,
    skip: !existsSync(SPEC) && `${SPEC} not found (the real specs live only in the shared workspace)`,
  },
  async (t) => {
    const machine = machineEnvironment({ DATABASE_URL: undefined });
    let bin: string;
    try {
      bin = cachedNode(FLOOR);
    } catch (error) {
      const why = String((error as { stderr?: Buffer }).stderr ?? error).split('\n')[0];
      t.skip(`node@${FLOOR} is not in npm's cache (npx --yes node@${FLOOR} --version puts it there): ${why}`);
      return;
    }
    const env = { ...machine, PATH: `${bin}${delimiter}${machine.PATH}` };
    await journey(t, { env, node: FLOOR, via: 'node', project: 'shared' });
  },
);
