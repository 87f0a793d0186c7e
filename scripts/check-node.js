// npm runs scripts with node_modules/.bin first on PATH, where the `node` dependency puts Node 24.
// If its install script was skipped, npm silently falls back to the system Node: fail loudly instead.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const required = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
const satisfies = createRequire(import.meta.url)('semver/functions/satisfies');
if (!satisfies(process.versions.node, required)) {
  console.error(
    `magento-async needs Node ${required} but this is ${process.version} (${process.execPath}).\n` +
      'Run `npm ci` so the `node` dependency installs its binary (its install script must be allowed).',
  );
  process.exit(1);
}
