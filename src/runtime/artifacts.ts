/**
 * Loads what codegen produced: the route table, the compiled validators and the async/bulk OpenAPI
 * documents. By default from the committed `src/generated/`; with a spec (file or URL) the code is
 * generated at start into a cache folder keyed by the spec's hash and codegen's version, so an
 * integrator can point the server at their store's schema without a code change.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Route } from '../routes/types.ts';
import { generatedModule } from '../routes/generated-files.ts';
import type { InputValidator } from '../accept/prepare.ts';
import { codegenVersion, recordedSource } from '../../codegen/spec-record.ts';
import { readSpecRecord } from './spec.ts';

export interface Artifacts {
  routes: readonly Route[];
  validators: Readonly<Record<string, InputValidator>>;
  schemas: { async: unknown; bulk: unknown };
  specInfo: { file: string; sha256: string };
  /** The spec's path or URL: what codegen recorded, or the `--spec` given. */
  source: string;
  dir: string;
}

export interface LoadArtifactsOptions {
  /** Generate from this spec (file or http(s) URL) instead of using `generatedDir`. */
  spec?: string;
  token?: string;
  generatedDir?: string;
  cacheDir?: string;
}

export async function loadArtifacts(options: LoadArtifactsOptions = {}): Promise<Artifacts> {
  let dir = resolve(options.generatedDir ?? 'src/generated');
  let source: string | undefined;
  if (options.spec) {
    const { readSpecSource } = await import('../../codegen/spec-source.ts');
    // Its bytes, for their hash: parsed only if codegen runs and its cache does not hold them.
    const read = await readSpecSource(options.spec, options.token);
    source = recordedSource(options.spec);
    // Keyed by the spec and by the codegen that generates it: an upgrade never reuses old output.
    dir = resolve(options.cacheDir ?? 'var/cache', `${read.sha256.slice(0, 16)}-${codegenVersion()}`);
    if (!existsSync(dir)) {
      // Generated beside it and renamed into place, so a folder under that name is always complete
      // (a crash mid-write leaves only a temporary folder, and two servers starting at once both
      // generate but one rename wins). The spec is read already: a URL is fetched once, not twice.
      const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      const { runCodegen } = await import('../../codegen/index.ts');
      try {
        await runCodegen({ spec: read, out: staging, plugins: false });
        await rename(staging, dir).catch((error: NodeJS.ErrnoException) => {
          if (!existsSync(dir)) throw error;
        });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
  }
  return importArtifacts(dir, source);
}

/**
 * The async and bulk schema documents, each read when first asked for: they are served on request
 * (`/async/schema`), and for a store's spec they are megabytes of JSON that a server would
 * otherwise parse at every start, and a `plugin:new` or a test kit that never asks, too. Their
 * files must be there from the start, as before.
 */
function lazySchemas(asyncFile: string, bulkFile: string): { async: unknown; bulk: unknown } {
  for (const file of [asyncFile, bulkFile])
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`magento-async codegen\` again`);
  let async: unknown;
  let bulk: unknown;
  return {
    get async() {
      return (async ??= JSON.parse(readFileSync(asyncFile, 'utf8')));
    },
    get bulk() {
      return (bulk ??= JSON.parse(readFileSync(bulkFile, 'utf8')));
    },
  };
}

function noRoutes(dir: string): Error {
  return new Error(`No generated routes in ${dir}: run \`magento-async codegen --spec <spec> --out ${dir}\` first`);
}

/** The generated route table of `dir` alone: what a consumer needs of codegen's output. */
export async function importRoutes(
  dir: string,
): Promise<{ routes: readonly Route[]; specInfo: { file: string; sha256: string } }> {
  const routesFile = generatedModule(dir, 'routes');
  if (!routesFile) throw noRoutes(dir);
  return (await import(pathToFileURL(routesFile).href)) as {
    routes: readonly Route[];
    specInfo: { file: string; sha256: string };
  };
}

/**
 * The generated routes and schema documents of `dir`, without the validators (megabytes of code
 * for a store's spec) that only a server runs: what `plugin:new` reads.
 */
export async function importDescribed(dir: string, source?: string): Promise<Omit<Artifacts, 'validators'>> {
  const routesModule = await importRoutes(dir);
  return {
    routes: routesModule.routes,
    schemas: lazySchemas(join(dir, 'async-schema.gen.json'), join(dir, 'bulk-schema.gen.json')),
    specInfo: routesModule.specInfo,
    source: source ?? readSpecRecord(dir)?.source ?? routesModule.specInfo.file,
    dir,
  };
}

export async function importArtifacts(dir: string, source?: string): Promise<Artifacts> {
  const validatorsFile = generatedModule(dir, 'validators');
  if (!generatedModule(dir, 'routes') || !validatorsFile) throw noRoutes(dir);
  const described = await importDescribed(dir, source);
  const validatorsModule = (await import(pathToFileURL(validatorsFile).href)) as {
    validators: Record<string, InputValidator>;
  };
  return { ...described, validators: validatorsModule.validators };
}
