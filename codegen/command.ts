/** CLI commands of the code generator: `codegen` writes files, `routes` only shows the table. */
import type { Command } from 'commander';
import { runCodegen } from './index.ts';
import { loadSpec } from './load-spec.ts';
import { isMagentoStyle, closeMagentoObjects } from './input-schema.ts';
import { buildRouteTable } from './route-table.ts';
import { formatDiagnostic } from './types.ts';
import { loadConfig } from '../src/config.ts';
import { EXAMPLE_NAMES } from '../src/plugins/examples.ts';

export function registerCodegenCommands(program: Command): void {
  program
    .command('codegen')
    .description(
      'Generate the async/bulk route table, types, validators and async schemas from an OpenAPI spec, and create handler stubs for new entities',
    )
    .requiredOption('--spec <file|url>', 'spec file or http(s) URL (JSON or YAML; Swagger 2.0, OpenAPI 3.0 or 3.1)')
    .option('--out <dir>', 'output folder of the generated files', 'src/generated')
    .option('--plugins <dir>', 'folder of per-entity handler stubs (created only when absent)', 'plugins')
    .option('--no-stubs', 'do not create handler stubs')
    .option(
      '--with-examples [names]',
      `the shipped examples the project runs (comma-separated, default all: ${EXAMPLE_NAMES.join(',')}); no stubs for their operations. Default: plugins.examples of the configuration`,
    )
    .option('--token <token>', "bearer token sent when --spec is a URL (a store's /rest/all/schema?services=all)")
    .action(
      async (opts: {
        spec: string;
        out: string;
        plugins: string;
        stubs: boolean;
        token?: string;
        withExamples?: string | true;
      }) => {
        // Stubs are for what nobody implements, so codegen sees the plugins the consumer will run.
        const config = loadConfig({ env: process.env });
        const examples =
          opts.withExamples === undefined
            ? (config.plugins.examples ?? [])
            : opts.withExamples === true
              ? [...EXAMPLE_NAMES]
              : opts.withExamples.split(',').map((x) => x.trim());
        const result = await runCodegen({
          spec: opts.spec,
          out: opts.out,
          plugins: opts.stubs ? opts.plugins : false,
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
      },
    );

  program
    .command('routes')
    .description('Print the async and bulk routes a spec yields (paths as in the spec, without /rest/<store>)')
    .requiredOption('--spec <file|url>', 'spec file or http(s) URL (JSON or YAML)')
    .option('--token <token>', 'bearer token sent when --spec is a URL')
    .option('--json', 'print a JSON array of {method, path, asyncPath, bulkPath, topic, entity, operationId, acl}')
    .action(async (opts: { spec: string; token?: string; json?: boolean }) => {
      const spec = await loadSpec(opts.spec, { token: opts.token });
      if (isMagentoStyle(spec)) closeMagentoObjects(spec.doc);
      const table = buildRouteTable(spec.doc);
      for (const d of [...spec.diagnostics, ...table.diagnostics])
        process.stderr.write(`warning: ${formatDiagnostic(d)}\n`);
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
    });
}
