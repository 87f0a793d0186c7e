#!/usr/bin/env node
/**
 * The `magento-async` command as installed (dist/cli/cli.js: this file bundled with the command
 * line, which dist/cli/bin.js runs, scripts/bundle-cli.js; in a checkout bin/magento-async.js runs
 * it from source). It starts on whatever `node` is first on PATH, possibly an older one than the
 * package needs (`engines.node`): then it runs itself again with the Node the package declares as its `node`
 * dependency, and only when there is none it stops with one line saying what to do.
 * Imports here are Node's own until the version is known to be right.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
// A namespace import: an old Node has no enableCompileCache, and a named import would not even load.
import * as nodeModule from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_JSON, PACKAGE_ROOT } from './kernel/package.ts';

const require = nodeModule.createRequire(join(PACKAGE_ROOT, 'package.json'));

/** The binary of the `node` dependency (node_modules/node/bin/node), if it was installed. */
function declaredNode(): string | null {
  try {
    const binary = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

async function rerun(node: string): Promise<never> {
  const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  // A supervisor's signal reaches this process only: pass it on and exit as the child does. Ctrl-C
  // reaches both (one process group), so SIGINT is not passed on: twice would mean "stop now".
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  process.on('SIGINT', () => {});
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  if (signal) process.kill(process.pid, signal);
  process.exit(code ?? 1);
}

const required = PACKAGE_JSON.engines.node;
/** The declared Node satisfies `engines` (test/kernel/package.test.ts): only another one is checked. */
function usable(): boolean {
  if (process.versions.node === PACKAGE_JSON.dependencies.node) return true;
  const satisfies = require('semver/functions/satisfies') as (version: string, range: string) => boolean;
  return satisfies(process.versions.node, required);
}

// No top-level await: the installed command runs this file bundled as a script (scripts/bundle-cli.js).
async function run(): Promise<void> {
  if (!usable()) {
    const node = declaredNode();
    if (node && node !== process.execPath) await rerun(node);
    process.stderr.write(
      `magento-async needs Node ${required}, but this is ${process.version} (${process.execPath}), and its own Node ` +
        '(the `node` dependency) is not installed: reinstall with install scripts allowed, or put a newer Node first on PATH.\n',
    );
    process.exit(1);
  }
  // V8's code cache on disk: later runs skip compiling what an earlier one compiled (a CLI starts often).
  nodeModule.enableCompileCache?.();
  const { main } = await import('./cli.ts');
  const code = await main(process.argv.slice(2));
  // A failed command exits at once: pools or timers it opened must not keep it alive after its one line.
  if (code !== 0) process.exit(code);
  process.exitCode = code;
}
void run();
