// Regenerates src/generated from openapi/ and fails when the committed files differ: generated code
// must never be edited by hand nor left stale after a spec or codegen change.
import { execFileSync } from 'node:child_process';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

// No stubs: the framework's plugins/ holds only its built-in plugin (a store's stubs live in its project).
run(process.execPath, ['bin/magento-async.js', 'codegen', '--spec', 'openapi/magento-sample.yaml', '--no-stubs']);
const changed = run('git', ['status', '--porcelain', '--', 'src/generated']).trim();
if (changed) {
  console.error('src/generated is out of date with openapi/ (run `npm run codegen` and commit):\n' + changed);
  console.error(run('git', ['diff', '--stat', '--', 'src/generated']));
  process.exit(1);
}
console.log('codegen drift check: src/generated matches openapi/');
