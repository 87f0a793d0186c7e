// The installed command's fast path as a bundle (scripts/build.js runs this after tsc): dist/cli/
// holds the bin, the command line (commander and every command's declaration) and `bulk:status`
// with pg, as a few files instead of ~90 modules. Loading modules one by one (resolving each
// specifier, reading its package.json, compiling) was most of what `--help` and `bulk:status`
// spent beyond a bare `node` (bench/cli.bench.ts). Every other command stays unbundled: its module
// is imported from dist/src as before, so a process running the server or the consumers (and the
// plugins they load, which import magento-async/plugin from dist/src) has one copy of each module
// that holds state or classes, never a bundled second one.
import { readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Dynamic imports that go into the bundle (importer → specifier); any other stays a dist/src import. */
const BUNDLED_DYNAMIC = new Set(['src/bin.js ./cli.js', 'src/commands.js ./commands/bulk.js']);

/**
 * Modules of the bundle that may use import.meta.url: its meaning changes in a bundle (the bundle's
 * file, not the module's), so any other use (a path to a file beside the module) fails the build.
 *   kernel/package.js: looks for the package's package.json upwards, found from dist/cli as well;
 *   config/validator.js: requires ajv's runtime helpers by package name, resolved from there too.
 */
const META_URL_ALLOWED = new Set(['src/kernel/package.js', 'src/config/validator.js']);

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Modules the bundle requires as it loads but uses only on some paths: each is bundled as an object
 * of its exports' names (taken at build time) whose getters load the module on first use.
 *   child_process: commander (executable subcommands, which this CLI has none of) and the bin's
 *     rerun on the declared Node; loading it loads dgram and more;
 *   crypto: src/queue/names.ts, for a channel name's hash, which bulk:status never asks for;
 *   dns: pg, for the native driver's connection settings only;
 *   pg/lib/crypto/utils.js: pg, for password authentication (md5, SCRAM), and it takes Node's
 *     crypto and its webcrypto as it loads (about a quarter of a bare `node`'s CPU time).
 */
const LAZY_BUILTINS = new Set(['child_process', 'crypto', 'dns']);
const LAZY_FILES = [join('node_modules', 'pg', 'lib', 'crypto', 'utils.js')];

/** The bundled stand-in of the module `path` (a Node module's name or a file), loading it on first use. */
function lazyModule(path) {
  const real = createRequire(import.meta.url)(path);
  if (typeof real !== 'object' || real === null) throw new Error(`${path} exports no object: it cannot load lazily`);
  return [
    'let loaded;',
    `const load = () => (loaded ??= require(${JSON.stringify(path)}));`,
    `for (const name of ${JSON.stringify(Object.keys(real))})`,
    '  Object.defineProperty(exports, name, { get: () => load()[name], enumerable: true });',
  ].join('\n');
}

export async function bundleCli(root) {
  const { build } = await import(createRequire(import.meta.url).resolve('esbuild'));
  const dist = join(root, 'dist');
  const outdir = join(dist, 'cli');
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { bin: join(dist, 'src/bin.js') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    // The bin must still start, and say what it needs, on a Node older than `engines`.
    target: 'node18',
    outdir,
    chunkNames: '[name]-[hash]',
    // pg's optional native binding: absent unless a user installs it, as pg expects.
    external: ['pg-native'],
    // The CommonJS code of the bundle (pg, commander) requires Node's modules at run time.
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);",
    },
    metafile: true,
    // Less to read, decode and hash for the compile cache on every start; names stay, so a stack
    // trace still reads.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'magento-async-cli',
        setup(b) {
          b.onResolve({ filter: /^\./ }, (args) => {
            if (args.kind !== 'dynamic-import') return undefined;
            const importer = relative(dist, args.importer);
            if (BUNDLED_DYNAMIC.has(`${importer} ${args.path}`)) return undefined;
            return { path: `./${relative(outdir, resolve(args.resolveDir, args.path))}`, external: true };
          });
          // Node's modules through require, not import: an ES import of node:fs builds its whole
          // namespace, which loads fs/promises, readline and streams that a CommonJS require of it
          // leaves unloaded.
          b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
            if (!BUILTINS.has(args.path) || args.namespace === 'lazy') return undefined;
            if (LAZY_BUILTINS.has(args.path.replace(/^node:/, '')))
              return { path: `node:${args.path.replace(/^node:/, '')}`, namespace: 'lazy' };
            return args.kind === 'import-statement' ? { path: args.path, namespace: 'node-builtin' } : undefined;
          });
          b.onResolve({ filter: /utils(\.js)?$/ }, async (args) => {
            if (args.namespace === 'lazy' || args.pluginData === 'lazy') return undefined;
            const found = await b.resolve(args.path, {
              kind: args.kind,
              importer: args.importer,
              resolveDir: args.resolveDir,
              pluginData: 'lazy',
            });
            return LAZY_FILES.some((file) => found.path.endsWith(`${sep}${file}`))
              ? { path: found.path, namespace: 'lazy' }
              : undefined;
          });
          b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
            contents: lazyModule(args.path),
            loader: 'js',
            resolveDir: args.path.startsWith('node:') ? root : dirname(args.path),
          }));
          b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
            contents: `module.exports = require(${JSON.stringify(args.path)});`,
            loader: 'js',
          }));
        },
      },
    ],
  });
  const ours = Object.keys(result.metafile.inputs)
    .map((input) => relative(dist, resolve(root, input)))
    .filter((input) => input.startsWith('src/'));
  for (const input of ours) {
    if (readFileSync(join(dist, input), 'utf8').includes('import.meta.url') && !META_URL_ALLOWED.has(input))
      throw new Error(
        `${input} uses import.meta.url and would be bundled into dist/cli: keep it out of the CLI's fast path`,
      );
  }
  return { modules: Object.keys(result.metafile.inputs).length, ours: ours.length };
}
