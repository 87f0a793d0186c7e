/**
 * A Node older than `engines`, and the package's own Node missing (npm install with install
 * scripts off, so the `node` dependency never fetched its binary): the bin stops with one line
 * saying what it needs and what to do, before loading anything of its own.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import satisfies from 'semver/functions/satisfies.js';
import { PACKAGE_JSON } from '../../src/kernel/package.ts';
import { machineEnvironment, packedTarball, seedFromStoreProject } from '../support/package.ts';
import { runCli } from '../support/processes.ts';
import { INSTALL } from './journey.ts';

const env = machineEnvironment({ DATABASE_URL: undefined });
const machineNode = execFileSync('node', ['--version'], { env, encoding: 'utf8' }).trim();

test(
  "the machine's Node too old and the package's own Node not installed: one line saying so",
  {
    timeout: 600_000,
    skip: satisfies(machineNode, PACKAGE_JSON.engines.node) && `the machine's Node (${machineNode}) is not too old`,
  },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'magento-async-old-node-'));
    chmodSync(dir, 0o755);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'package.json'), '{"private": true}\n');
    // The install itself is not what is tested here (the journeys install for real): it starts
    // from the run's store project, but the `node` dependency is unpacked anew, as `--ignore-scripts`
    // leaves it (its install script, the only one in the tree, never runs). 14 s CPU, 4.8 s so.
    await seedFromStoreProject(dir, ['node']);
    const install = await runCli('npm', ['install', await packedTarball(), '--ignore-scripts', ...INSTALL], {
      cwd: dir,
      env,
      timeoutMs: 300_000,
    });
    assert.equal(install.code, 0, install.stderr);
    for (const args of [['--version'], ['bulk:status', '00000000-0000-0000-0000-000000000000']]) {
      const result = await runCli('npx', ['magento-async', ...args], { cwd: dir, env });
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.ok(
        lines[0]!.startsWith(`magento-async needs Node ${PACKAGE_JSON.engines.node}, but this is ${machineNode} (`),
        lines[0],
      );
      assert.match(
        lines[0]!,
        /its own Node \(the `node` dependency\) is not installed: reinstall with install scripts allowed/,
      );
    }
  },
);
