/** CLI commands of the code generator: `codegen` writes files, `routes` only shows the table. */
import { join, resolve } from 'node:path';
import { findGeneration } from './cache.ts';
import { runCodegen } from './index.ts';
import { readSpecSource } from './spec-source.ts';
import { formatDiagnostic, type Diagnostic } from './types.ts';
import type { Route } from '../src/routes/types.ts';
import { loadConfig } from '../src/config.ts';
import { demoExamples, EXAMPLE_NAMES } from '../src/plugins/examples.ts';
import { frameworkFolder, PACKAGE_ROOT, STORE_PROJECT_HINT } from '../src/kernel/package.ts';

/** A store's code never goes into the framework's own tree (`frameworkFolder`); its sample may. */
function refuseFrameworkTree(spec: string, out: string, plugins: string | false): void {
  const sample = !/^https?:/i.test(spec) && resolve(spec) === join(PACKAGE_ROOT, 'openapi/magento-sample.yaml');
  if (frameworkFolder(out) === 'src/generated' && !sample)
    throw new Error(
      `src/generated of magento-async's own checkout is its generated sample (\`npm run codegen\`), not a store's: ${STORE_PROJECT_HINT}.`,
    );
  if (plugins !== false && frameworkFolder(plugins) === 'plugins')
    throw new Error(
      `plugins/ of magento-async's own checkout holds its built-in plugin, not a store's stubs: ${STORE_PROJECT_HINT}, or pass --no-stubs.`,
    );
}

export async function codegenCommand(opts: {
  spec: string;
  out?: string;
  plugins?: string;
  stubs: boolean;
  token?: string;
  withExamples?: string | true;
}): Promise<void> {
  // Stubs are for what nobody implements, so codegen sees the plugins the consumer will run.
  const config = loadConfig({ env: process.env });
  const examples =
    opts.withExamples === undefined
      ? (demoExamples(config).plugins.examples ?? [])
      : opts.withExamples === true
        ? [...EXAMPLE_NAMES]
        : opts.withExamples.split(',').map((x) => x.trim());
  const out = opts.out ?? config.generatedDir;
  const plugins = opts.stubs ? (opts.plugins ?? config.pluginsDir) : false;
  refuseFrameworkTree(opts.spec, out, plugins);
  const result = await runCodegen({
    spec: opts.spec,
    out,
    plugins,
    token: opts.token,
    examples,
    pluginPackages: config.pluginPackages,
  });
  const count = (s: string) => result.files.filter((f) => f.status === s).length;
  process.stdout.write(
    `${result.routes.length} routes from ${result.spec.file}: ${count('written')} files written, ${count('unchanged')} unchanged, ` +
      `${count('created')} stubs created, ${count('kept')} stubs kept` +
      (count('pruned') ? `, ${count('pruned')} stubs pruned (now implemented elsewhere)` : '') +
      `; ${result.diagnostics.length} warnings\n`,
  );
}

/**
 * The spec's routes and the warnings of loading it and building its route table: from a generation
 * the codegen cache holds (codegen/cache.ts) when it has one, else from the spec itself.
 */
async function routeTable(
  spec: string,
  token: string | undefined,
): Promise<{ routes: Route[]; diagnostics: Diagnostic[] }> {
  const source = await readSpecSource(spec, token);
  const kept = findGeneration(source);
  if (kept) return { routes: kept.routes, diagnostics: kept.diagnostics.slice(0, kept.routeDiagnostics) };
  const { parseSpecSource } = await import('./load-spec.ts');
  const { closeMagentoObjects, isMagentoStyle } = await import('./input-schema.ts');
  const { buildRouteTable } = await import('./route-table.ts');
  const loaded = await parseSpecSource(source);
  if (isMagentoStyle(loaded)) closeMagentoObjects(loaded.doc);
  const table = buildRouteTable(loaded.doc);
  return { routes: table.routes, diagnostics: [...loaded.diagnostics, ...table.diagnostics] };
}

export async function routesCommand(opts: { spec: string; token?: string; json?: boolean }): Promise<void> {
  const table = await routeTable(opts.spec, opts.token);
  for (const d of table.diagnostics) process.stderr.write(`warning: ${formatDiagnostic(d)}\n`);
  const rows = table.routes.map(({ method, path, asyncPath, bulkPath, topic, entity, operationId, acl }) => ({
    method,
    path,
    asyncPath,
    bulkPath,
    topic,
    entity,
    operationId,
    acl,
  }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const columns = ['method', 'path', 'bulkPath', 'topic', 'operationId'] as const;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line([...columns])}\n`);
  for (const r of rows) process.stdout.write(`${line(columns.map((c) => r[c]))}\n`);
  process.stdout.write(`${rows.length} routes\n`);
}
