/**
 * The journey (test/package/journey.ts) on the oldest Node `engines` allows (22.18: type stripping
 * on by default), run by that Node itself: `node <bin> …` and `node --test` rather than npm
 * scripts, which would take the project's own Node. That Node is the `node` package of npm, from
 * npm's cache only (CI's .ci/run puts it there): without it the test is skipped, saying so. Its
 * project is a copy of the run's store project (what npm installs does not depend on the Node that
 * runs the package); `init`, codegen, the kit tests, the server and `bulk:status` run on 22.18.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import minVersion from 'semver/ranges/min-version.js';
import { PACKAGE_JSON } from '../../src/kernel/package.ts';
import { machineEnvironment } from '../support/package.ts';
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
    const dir = mkdtempSync(join(tmpdir(), 'node-floor-'));
    chmodSync(dir, 0o755);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'package.json'), '{"private": true}\n');
    try {
      execFileSync('npm', ['install', `node@${FLOOR}`, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd: dir,
        env: machine,
        stdio: 'pipe',
      });
    } catch (error) {
      const why = String((error as { stderr?: Buffer }).stderr ?? error).split('\n')[0];
      t.skip(`node@${FLOOR} is not in npm's cache (npx --yes node@${FLOOR} --version puts it there): ${why}`);
      return;
    }
    const env = { ...machine, PATH: `${join(dir, 'node_modules/node/bin')}${delimiter}${machine.PATH}` };
    await journey(t, { env, node: FLOOR, via: 'node', project: 'shared' });
  },
);
