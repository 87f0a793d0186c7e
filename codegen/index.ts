/**
 * Codegen entry: load → route table → emitters → files. Generated files are rewritten only when
 * their bytes change (so mtimes and watchers stay quiet); stubs are written only when absent, and
 * only for operations no plugin implements (the plugins folder, enabled examples, packages).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Route } from '../src/routes/types.ts';
import { frameworkImport, headerText, importPath, VALIDATOR_IMPORT } from './emit/header.ts';
import { emitRoutes, emitRoutesTypes, type SpecInfo } from './emit/routes.ts';
import { emitStub, pruneStubs } from './emit/stubs.ts';
import type { LoadedSpec } from './load-spec.ts';
import { readSpecSource, type SpecSource } from './spec-source.ts';
import { cachedGeneration } from './cache.ts';
import { formatDiagnostic, type Diagnostic } from './types.ts';

import { PROJECT_ROOT, recordedSource, SPEC_RECORD, type SpecRecord } from './spec-record.ts';

export { PROJECT_ROOT, SPEC_RECORD, type SpecRecord };

export interface CodegenOptions {
  /**
   * A file path or URL, or a spec already read (spec-source.ts: a caller that needed its hash reads
   * or fetches it once) or loaded.
   */
  spec: string | SpecSource | LoadedSpec;
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

/** Which spec a generation is of: what the generated files' headers and spec.json name. */
export type SpecIdentity = Pick<SpecSource, 'file' | 'source' | 'sha256'>;

export interface CodegenResult {
  spec: SpecIdentity;
  routes: Route[];
  diagnostics: Diagnostic[];
  files: WrittenFile[];
}

export async function runCodegen(options: CodegenOptions): Promise<CodegenResult> {
  const out = resolve(options.out ?? 'src/generated');
  const pluginsDir = options.plugins === false ? null : resolve(options.plugins ?? 'plugins');
  // Only the bytes, read: a generation the cache holds is reused without parsing them.
  const spec = typeof options.spec === 'string' ? await readSpecSource(options.spec, options.token) : options.spec;
  const generated = await generate(spec, out);
  const files: WrittenFile[] = [];
  for (const [name, content] of generated.files) files.push(await writeIfChanged(join(out, name), content));
  // Earlier versions wrote these as TypeScript: the .js beside them now is what runs.
  for (const name of ['routes.gen.ts', 'validators.gen.ts']) await rm(join(out, name), { force: true });

  const warn = options.warn === undefined ? (line: string) => process.stderr.write(`warning: ${line}\n`) : options.warn;
  if (pluginsDir) {
    const { implementedOperations } = await import('../src/plugins/loader.ts');
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
  return {
    spec: { file: spec.file, source: spec.source, sha256: spec.sha256 },
    routes: generated.routes,
    diagnostics: generated.diagnostics,
    files,
  };
}

export interface Generated {
  routes: Route[];
  diagnostics: Diagnostic[];
  /** File name in the out folder → content (a cached file's bytes as the cache keeps them). */
  files: Map<string, string | Buffer>;
}

/**
 * Everything except disk writes: the generated files of one spec for one output folder. A spec
 * given as its bytes is parsed only when the cache does not hold its generation.
 */
export async function generate(spec: SpecSource | LoadedSpec, out: string): Promise<Generated> {
  const made = await cachedGeneration(spec, async () => {
    const { generateFiles, loadedSpec } = await import('./generate-files.ts');
    return generateFiles(await loadedSpec(spec));
  });
  const specInfo: SpecInfo = { file: spec.file, sha256: spec.sha256, ...made.info };
  const files = new Map<string, string | Buffer>();
  files.set(SPEC_RECORD, specRecordText(spec));
  files.set('routes.gen.js', emitRoutes(made.routes, specInfo));
  // The files that depend on where the output goes: their imports of the framework's types.
  files.set('routes.gen.d.ts', emitRoutesTypes(specInfo, frameworkImport(out, 'magento-async#Route')));
  const validatorImport = frameworkImport(out, 'magento-async#InputValidator');
  for (const [name, content] of made.files) files.set(name, withImport(content, validatorImport));
  return { routes: made.routes, diagnostics: made.diagnostics, files };
}

/** `content` with the output folder's import of InputValidator in place of VALIDATOR_IMPORT. */
function withImport(content: string | Buffer, validatorImport: string): string | Buffer {
  if (typeof content === 'string') return content.replace(VALIDATOR_IMPORT, validatorImport);
  // Only the file that has it is decoded: the others (megabytes) stay bytes.
  return content.includes(VALIDATOR_IMPORT)
    ? content.toString('utf8').replace(VALIDATOR_IMPORT, validatorImport)
    : content;
}

function specRecordText(spec: SpecIdentity): string {
  const record: SpecRecord = { source: recordedSource(spec.source), file: spec.file, sha256: spec.sha256 };
  return `${JSON.stringify({ 'x-generated': headerText(spec), ...record }, null, 2)}\n`;
}

async function writeIfChanged(path: string, content: string | Buffer): Promise<WrittenFile> {
  // Compared as bytes: nothing of megabytes is decoded to find it unchanged.
  const current = await readFile(path).catch(() => null);
  if (current?.equals(typeof content === 'string' ? Buffer.from(content) : content))
    return { path, status: 'unchanged' };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return { path, status: 'written' };
}
