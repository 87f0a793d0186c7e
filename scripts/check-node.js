// npm runs scripts with node_modules/.bin first on PATH, where the `node` devDependency puts Node 24.
// If its install script was skipped, npm silently falls back to the system Node: fail loudly instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `magento-async needs Node >= 22.12 but this is ${process.version} (${process.execPath}).\n` +
      'Run `npm ci` so the `node` devDependency installs its binary (its install script must be allowed).',
  );
  process.exit(1);
}
