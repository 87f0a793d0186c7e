#!/usr/bin/env node
// `npm create magento-async <dir>`: npm runs this package's bin, which is `magento-async init <dir>`
// of the magento-async version it depends on. The work, and the check of the Node it runs on (it
// reruns itself with the package's own Node when this one is too old), are magento-async's.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const args = process.argv.slice(2);
if (!args.some((arg) => !arg.startsWith('-'))) {
  process.stderr.write('Usage: npm create magento-async <dir>   (a new folder for the store project)\n');
  process.exit(1);
}
const manifest = createRequire(import.meta.url).resolve('magento-async/package.json');
const bin = JSON.parse(readFileSync(manifest, 'utf8')).bin['magento-async'];
const init = spawnSync(process.execPath, [join(dirname(manifest), bin), 'init', ...args], { stdio: 'inherit' });
process.exit(init.status ?? 1);
