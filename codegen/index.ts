/**
 * Codegen entry: load → route table → emitters → files. Generated files are rewritten only when
 * their bytes change (so mtimes and watchers stay quiet); stubs are written only when absent, and
 * only for operations no plugin implements (the plugins folder, enabled examples, packages).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Route } from '../src/routes/types.ts';
import { emitAsyncSchema } from './emit/async-schema.ts';
import { emitHandlers } from './emit/handlers.ts';
import { frameworkImport, headerText, importPath } from './emit/header.ts';
import { emitRoutes, emitRoutesTypes, type SpecInfo } from './emit/routes.ts';
import { emitStub, pruneStubs } from './emit/stubs.ts';
import { implementedOperations } from '../src/plugins/loader.ts';
import { emitTypes } from './emit/types.ts';
import { emitValidators } from './emit/validators.ts';
import { closeMagentoObjects, isMagentoStyle } from './input-schema.ts';
import { loadSpec, type LoadedSpec } from './load-spec.ts';
import { buildRouteTable } from './route-table.ts';
import { cachedGeneration, type Generation } from './cache.ts';
import { formatDiagnostic, isObject, type Diagnostic } from './types.ts';

import { PROJECT_ROOT, recordedSource, SPEC_RECORD, type SpecRecord } from './spec-record.ts';

export { PROJECT_ROOT, SPEC_RECORD, type SpecRecord };

export interface CodegenOptions {
  /** A file path or URL, or a spec already loaded (so a caller that needed its hash loads it once). */
  spec: string | LoadedSpec;
  /** Output folder of the *.gen.* files (default `src/generated`), relative to the working directory. */
  out?: string;
  /** Folder of the per-entity plugin stubs (default `plugins`); `false` writes none. */
  plugins?: string | false;
  /** Shipped examples the project runs (`plugins.examples`): no stubs for what they implement. */
  examples?: readonly string[];
  /** Plugin packages the project runs (`pluginPackages`): no stubs for what they implement. */
  pluginPackages?: readonly string[];
  token?: string | undefined;
  /** Where diagnostics go; default stderr. Pass `null` to stay quiet. */
  warn?: ((line: string) => void) | null;
}

export interface WrittenFile {
  path: string;
  /** `pruned`: a stub file lost entries for operations another plugin now implements. */
  status: 'written' | 'unchanged' | 'created' | 'kept' | 'pruned';
}

export interface CodegenResult {
  spec: LoadedSpec;
  routes: Route[];
  diagnostics: Diagnostic[];
  files: WrittenFile[];
}

export async function runCodegen(options: CodegenOptions): Promise<CodegenResult> {
  const out = resolve(options.out ?? 'src/generated');
  const pluginsDir = options.plugins === false ? null : resolve(options.plugins ?? 'plugins');
  const spec = typeof options.spec === 'string' ? await loadSpec(options.spec, { token: options.token }) : options.spec;
  const generated = await generate(spec, out);
  const files: WrittenFile[] = [];
  for (const [name, content] of generated.files) files.push(await writeIfChanged(join(out, name), content));
  // Earlier versions wrote these as TypeScript: the .js beside them now is what runs.
  for (const name of ['routes.gen.ts', 'validators.gen.ts']) await rm(join(out, name), { force: true });

  const warn = options.warn === undefined ? (line: string) => process.stderr.write(`warning: ${line}\n`) : options.warn;
  if (pluginsDir) {
    const { implemented, problems } = await implementedOperations({
      routes: generated.routes,
      pluginsDir,
      examples: options.examples ?? [],
      packages: options.pluginPackages ?? [],
    });
    if (warn) for (const p of problems) warn(`${p} (its operations get stubs)`);
    const byEntity = new Map<string, Route[]>();
    for (const route of generated.routes) byEntity.set(route.entity, [...(byEntity.get(route.entity) ?? []), route]);
    for (const entity of [...byEntity.keys()].sort()) {
      const dir = join(pluginsDir, entity);
      const file = join(dir, 'index.ts');
      const where = relative(process.cwd(), file).split(sep).join('/');
      const elsewhere = byEntity
        .get(entity)!
        .map((r) => r.operationId)
        .filter((id) => implemented.has(id));
      if (existsSync(file)) {
        const current = await readFile(file, 'utf8');
        const { text, pruned } = pruneStubs(current, elsewhere);
        if (pruned.length) await writeFile(file, text);
        files.push({ path: file, status: pruned.length ? 'pruned' : 'kept' });
        continue;
      }
      const open = byEntity.get(entity)!.filter((r) => !implemented.has(r.operationId));
      if (!open.length) continue;
      const imports = {
        api: frameworkImport(dir, 'magento-async/plugin'),
        handlers: importPath(dir, join(out, 'handlers.gen.ts')),
      };
      await mkdir(dir, { recursive: true });
      await writeFile(file, emitStub(entity, open, imports, where, spec), { flag: 'wx' });
      files.push({ path: file, status: 'created' });
    }
  }

  if (warn) for (const d of generated.diagnostics) warn(formatDiagnostic(d));
  return { spec, routes: generated.routes, diagnostics: generated.diagnostics, files };
}

export interface Generated {
  routes: Route[];
  diagnostics: Diagnostic[];
  /** File name in the out folder → content. */
  files: Map<string, string>;
}

/** Everything except disk writes: the generated files of one spec for one output folder. */
export async function generate(spec: LoadedSpec, out: string): Promise<Generated> {
  const specInfo = specInfoOf(spec);
  const made = await cachedGeneration(spec, () => generateFiles(spec));
  const files = new Map<string, string>();
  files.set(SPEC_RECORD, specRecordText(spec));
  files.set('routes.gen.js', emitRoutes(made.routes, specInfo));
  // The files that depend on where the output goes: their imports of the framework's types.
  files.set('routes.gen.d.ts', emitRoutesTypes(specInfo, frameworkImport(out, 'magento-async#Route')));
  const validatorImport = frameworkImport(out, 'magento-async#InputValidator');
  for (const [name, content] of made.files) files.set(name, content.replace(VALIDATOR_IMPORT, validatorImport));
  return { routes: made.routes, diagnostics: made.diagnostics, files };
}

/** Where validators.gen.d.ts imports InputValidator from, filled in for the output folder. */
const VALIDATOR_IMPORT = '@@magento-async:input-validator-import@@';

function specInfoOf(spec: LoadedSpec): SpecInfo {
  const info = isObject(spec.doc.info) ? spec.doc.info : {};
  return {
    file: spec.file,
    sha256: spec.sha256,
    title: typeof info.title === 'string' ? info.title : '',
    version: typeof info.version === 'string' ? info.version : '',
  };
}

/** Everything generated from the spec alone (what the codegen cache keeps). */
async function generateFiles(spec: LoadedSpec): Promise<Generation> {
  const doc = spec.doc;
  const diagnostics = [...spec.diagnostics];
  if (isMagentoStyle(spec)) closeMagentoObjects(doc);
  const table = buildRouteTable(doc);
  diagnostics.push(...table.diagnostics);
  const files: Generation['files'] = [];
  files.push(['types.gen.ts', await emitTypes(doc, table.routes, spec)]);
  files.push(['handlers.gen.ts', emitHandlers(table.details, spec)]);
  const validators = emitValidators(doc, table.details, spec);
  diagnostics.push(...validators.diagnostics);
  files.push(['validators.gen.js', validators.code]);
  files.push(['validators.gen.d.ts', validators.types(VALIDATOR_IMPORT)]);
  files.push(['async-schema.gen.json', emitAsyncSchema(doc, table.details, spec, 'async')]);
  files.push(['bulk-schema.gen.json', emitAsyncSchema(doc, table.details, spec, 'bulk')]);
  return { routes: table.routes, diagnostics, files };
}

function specRecordText(spec: LoadedSpec): string {
  const record: SpecRecord = { source: recordedSource(spec.source), file: spec.file, sha256: spec.sha256 };
  return `${JSON.stringify({ 'x-generated': headerText(spec), ...record }, null, 2)}\n`;
}

async function writeIfChanged(path: string, content: string): Promise<WrittenFile> {
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current === content) return { path, status: 'unchanged' };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return { path, status: 'written' };
}
