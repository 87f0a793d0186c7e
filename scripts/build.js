// `npm run build` (and `prepack`, so `npm pack` and `npm publish` always ship a fresh build): the
// compiled JavaScript and .d.ts of src/, codegen/, the shipped plugins and the examples into dist/,
// with the files their code reads at run time beside them (SQL migrations, the dashboard's assets,
// the sample's generated schemas), and the configuration precompiled (src/config/precompile.ts).
// The package runs from dist/ only; a checkout runs its sources. Last, the command line's fast path
// is bundled into dist/cli (scripts/bundle-cli.js), which the bin runs.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bundleCli } from './bundle-cli.js';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// Emit only (--noCheck): checking is `npm run typecheck`'s job (CI runs it, and `prepublishOnly` runs
// it before a publish), and a build checking again cost a third of its CPU (9.2 → 6.1 s here) in
// every `npm pack`, the test suite's among them. The emitted files are the same byte for byte.
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });

const assets = [
  ['src/db/migrations', (f) => f.endsWith('.sql')],
  ['src/admin/assets', () => true],
  ['src/generated', (f) => !f.endsWith('.ts')],
  ...readdirSync(join(root, 'examples')).map((name) => [`examples/${name}`, (f) => f.endsWith('.sql')]),
];
for (const [dir, wanted] of assets) {
  for (const file of readdirSync(join(root, dir)).filter(wanted))
    cpSync(join(root, dir, file), join(dist, dir, file), { recursive: true });
}
// Two configuration modules replaced by what they amount to (plain data, ajv's standalone validator),
// so an installed command reading its configuration loads neither TypeBox nor ajv's compiler.
const { precompiledSchema, precompiledValidator } = await import('../src/config/precompile.ts');
writeFileSync(join(dist, 'src/config/schema.js'), precompiledSchema());
writeFileSync(join(dist, 'src/config/validator.js'), precompiledValidator());
// What a checkout caches (src/config/compiled.ts) is these two modules: the package has them already.
writeFileSync(
  join(dist, 'src/config/compiled.js'),
  "export * from './schema.js';\nexport { configValidator } from './validator.js';\n",
);
// The compiled generator is keyed in codegen caches by its sources' digest, so that it shares the
// checkout's cached generations (codegen/cache.ts).
const { modulesDigest, SOURCE_DIGEST_FILE } = await import('../codegen/cache.ts');
writeFileSync(join(dist, 'codegen', SOURCE_DIGEST_FILE), `${modulesDigest(join(root, 'codegen'))}\n`);
// After the precompiled configuration: the bundle takes those two modules as they are now.
const bundled = await bundleCli(root);
console.log(`bundled the command line into dist/cli: ${bundled.modules} modules, ${bundled.ours} of them ours`);
console.log(`built ${dist}`);
