/**
 * `plugin:new <entity>`: scaffolds `plugins/<entity>/index.ts` (typed handlers for the entity's
 * operations of the generated routes) and `index.test.ts` (a test kit run of each), which passes as
 * written. It never overwrites an author's file; codegen's own stub for the entity, which holds
 * nothing but `notImplemented` handlers, is the one file it replaces.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config.ts';
import { isStub } from '../plugins/stubs.ts';
import { packageVersion } from '../plugins/loader.ts';
import { importDescribed } from '../runtime/artifacts.ts';
import { exampleArgs } from '../testing/example-args.ts';
import { defaultPluginName, emitPlugin, emitPluginTest } from './plugin-scaffold.ts';
import { frameworkImport } from '../../codegen/emit/header.ts';
import { frameworkFolder, STORE_PROJECT_HINT } from '../kernel/package.ts';

const NAME = /^[A-Z][A-Za-z0-9]*_[A-Z][A-Za-z0-9]*$/;
const FOLDER = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** An import specifier of `target` from `fromDir` (always `./` or `../` first, `/` separators). */
function specifier(fromDir: string, target: string): string {
  const rel = relative(fromDir, target).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** True when the file at `path` is nothing but codegen's stubs (so replacing it loses nothing). */
async function onlyStubs(path: string): Promise<boolean> {
  try {
    const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    const def = module.default as { handlers?: Record<string, unknown>; interceptors?: unknown[] } | undefined;
    const handlers = Object.values(def?.handlers ?? {});
    return (
      Object.keys(module).every((k) => k === 'default') &&
      !def?.interceptors?.length &&
      handlers.length > 0 &&
      handlers.every((h) => isStub(h))
    );
  } catch {
    return false; // it does not even load: someone is editing it
  }
}

/**
 * The project's own formatting, when it has prettier (so `prettier --check` passes on a fresh
 * scaffold); the text as emitted otherwise.
 */
async function formatted(file: string, text: string): Promise<string> {
  try {
    const prettier = (await import('prettier')) as typeof import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...options, filepath: file });
  } catch {
    return text;
  }
}

export interface PluginNewOptions {
  name?: string;
  dir?: string;
}

export async function pluginNew(entity: string, opts: PluginNewOptions, out: (line: string) => void): Promise<void> {
  const config = loadConfig({ env: process.env });
  if (frameworkFolder(config.pluginsDir) === 'plugins')
    throw new Error(
      `plugins/ of magento-async's own checkout holds its built-in plugin, not a store's: ${STORE_PROJECT_HINT}.`,
    );
  const generatedDir = resolve(config.generatedDir);
  const artifacts = await importDescribed(generatedDir).catch((error: Error) => {
    throw new Error(`${error.message} (plugin:new types the handlers from the generated routes)`);
  });
  const routes = artifacts.routes.filter((r) => r.entity === entity);
  if (!routes.length) {
    const entities = [...new Set(artifacts.routes.map((r) => r.entity))].sort();
    throw new Error(
      `No operations of entity "${entity}" in ${config.generatedDir} (${artifacts.source}); entities: ${entities.join(', ')}`,
    );
  }
  const name = opts.name ?? defaultPluginName(entity);
  if (!NAME.test(name)) throw new Error(`--name ${JSON.stringify(name)} is not a Magento-style "Vendor_Module" name.`);
  const folder = opts.dir ?? entity;
  if (!FOLDER.test(folder)) throw new Error(`--dir ${JSON.stringify(folder)} is not a folder name.`);
  const dir = resolve(config.pluginsDir, folder);
  const where = relative(process.cwd(), dir).split(sep).join('/') || '.';
  const indexFile = join(dir, 'index.ts');
  const testFile = join(dir, 'index.test.ts');
  let replacedStub = false;
  if (existsSync(indexFile)) {
    if (!(await onlyStubs(indexFile))) {
      throw new Error(
        `${where}/index.ts already exists and is not codegen's stub; plugin:new never overwrites a plugin: choose another folder with --dir.`,
      );
    }
    replacedStub = true;
  }
  if (existsSync(testFile)) throw new Error(`${where}/index.test.ts already exists; choose another folder with --dir.`);
  const input = {
    entity,
    name,
    frameworkVersion: packageVersion(),
    routes,
    examples: Object.fromEntries(routes.map((r) => [r.operationId, exampleArgs(r, artifacts.schemas.async)])),
    handlersImport: specifier(dir, join(generatedDir, 'handlers.gen.ts')),
    pluginImport: frameworkImport(dir, 'magento-async/plugin'),
    testingImport: frameworkImport(dir, 'magento-async/testing'),
    generatedDir: specifier(dir, generatedDir),
    where,
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(indexFile, await formatted(indexFile, emitPlugin(input)));
  writeFileSync(testFile, await formatted(testFile, emitPluginTest(input)));
  out(
    `${replacedStub ? "Replaced codegen's stub with" : 'Wrote'} ${where}/index.ts: plugin ${name}, ${routes.length} handler${routes.length === 1 ? '' : 's'} (${routes.map((r) => r.operationId).join(', ')})`,
  );
  out(`Wrote ${where}/index.test.ts: run it with  npx node --test ${where}/index.test.ts`);
}

export async function pluginNewCommand(entity: string, opts: PluginNewOptions): Promise<void> {
  await pluginNew(entity, opts, (line) => process.stdout.write(`${line}\n`));
}
