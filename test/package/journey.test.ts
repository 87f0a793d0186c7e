/**
 * The journey (test/package/journey.ts) as most users start it: their machine's Node first on PATH
 * (older than `engines` on this machine: the bin reruns itself with the package's own Node), the
 * project made by `npm create magento-async`, its commands run through npm. The one journey that
 * makes its project from nothing: create-magento-async runs on this Node, npm installs on it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { machineEnvironment } from '../support/package.ts';
import { journey, SPEC } from './journey.ts';

const env = machineEnvironment({ DATABASE_URL: undefined });

test(
  "the machine's Node: npm create magento-async → codegen → npm start → 202 → final; a plugin package as a peer",
  {
    timeout: 1_200_000,
    skip: !existsSync(SPEC) && `${SPEC} not found (the real specs live only in the shared workspace)`,
  },
  async (t) => {
    const node = execFileSync('node', ['--version'], { env, encoding: 'utf8' }).trim().slice(1);
    await journey(t, { env, node, via: 'npm', project: 'create' });
  },
);
