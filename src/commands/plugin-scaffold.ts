/**
 * What `plugin:new <entity>` writes: a plugin with a typed handler for each of the entity's
 * operations and a test that runs every one of them through the test kit. Pure functions of the
 * routes, so the command only decides where the files go.
 *
 * The handlers do one honest thing until their author replaces it: they keep what they received
 * in the plugin's own table, in the operation's transaction, and say so in their result. That
 * shows the three things every real handler uses (typed arguments, `ctx.store`, `ctx.tx`) and lets
 * the scaffolded test check an effect, not only a status.
 */
import { pascalCase } from '../../codegen/operation-id.ts';
import type { Route } from '../routes/types.ts';

export interface ScaffoldInput {
  entity: string;
  /** Magento-style `Vendor_Module`. */
  name: string;
  /** The framework's version; the plugin's `compatibility` is its major (`^1.0.0`). */
  frameworkVersion: string;
  routes: readonly Route[];
  /** Example arguments per operationId (src/testing/example-args.ts). */
  examples: Readonly<Record<string, Record<string, unknown>>>;
  /** Import specifier of handlers.gen.ts from the plugin's folder. */
  handlersImport: string;
  /** How the plugin imports `magento-async/plugin` and its test `magento-async/testing`. */
  pluginImport: string;
  testingImport: string;
  /** Import specifier of the generated folder from the plugin's folder, for the test's kit. */
  generatedDir: string;
  /** The plugin's folder as the user sees it (`plugins/products`), for comments. */
  where: string;
}

export function defaultPluginName(entity: string): string {
  const pascal = pascalCase(entity);
  return `Local_${/^[A-Z]/.test(pascal) ? pascal : `P${pascal}`}`;
}

/** The plugin's table: `<vendor>_<module>_received`, lower case. */
export function receivedTable(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_received`;
}

function compatibility(version: string): string {
  const major = /^(\d+)\./.exec(version)?.[1] ?? '1';
  return `^${major}.0.0`;
}

export function emitPlugin(input: ScaffoldInput): string {
  const table = receivedTable(input.name);
  const handlers = input.routes.flatMap((r) => [
    `    // ${r.method} ${r.path}`,
    `    async ${r.operationId}(args, ctx) {`,
    `      // Replace with what ${r.method} ${r.path} does: args are typed from the spec.`,
    '      return keep(ctx, args);',
    '    },',
  ]);
  return [
    `// ${input.where}/index.ts: the ${input.name} plugin for "${input.entity}", scaffolded by \`magento-async plugin:new\`.`,
    "// This file is yours. Each handler gets its operation's arguments (path parameters beside the",
    "// body's properties) and ctx: the store scope, the operation, a logger and ctx.tx, the operation's",
    "// transaction (writes there commit exactly once, together with the operation's status).",
    `// Its test is index.test.ts beside it: npx node --test ${input.where}/index.test.ts`,
    `import { definePlugin, type HandlerContext } from '${input.pluginImport}';`,
    `import type { OperationArgs } from '${input.handlersImport}';`,
    '',
    'export default definePlugin<OperationArgs>({',
    `  name: '${input.name}',`,
    `  compatibility: '${compatibility(input.frameworkVersion)}',`,
    '  handlers: {',
    ...handlers,
    '  },',
    '});',
    '',
    "// Until a handler does its real work, it keeps what it received in the plugin's own table.",
    'async function keep(ctx: HandlerContext, args: object): Promise<{ received: string }> {',
    '  await ctx.tx.query(',
    `    'INSERT INTO ${table} (operation_id, store_id, args) VALUES ($1, $2, $3)',`,
    '    [ctx.operation.operationId, ctx.store.id, JSON.stringify(args)],',
    '  );',
    '  return { received: ctx.operation.operationId };',
    '}',
    '',
    "// Idempotent SQL for the plugin's tables, applied at every start; names unqualified.",
    'export const migrations = [',
    `  'CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, operation_id text NOT NULL, store_id int NOT NULL, args jsonb NOT NULL)',`,
    '];',
    '',
  ].join('\n');
}

export function emitPluginTest(input: ScaffoldInput): string {
  const table = receivedTable(input.name);
  const cases = input.routes.flatMap((r) => [
    `  { operationId: '${r.operationId}', args: ${JSON.stringify(input.examples[r.operationId] ?? {})} },`,
  ]);
  return [
    `// Tests of the ${input.name} plugin. The test kit runs each operation as production does: sent to the`,
    "// server, validated, queued, run by a consumer through this plugin's handler in its own transaction,",
    '// read back from the bulk status API. The arguments are the smallest the spec accepts: replace them',
    '// with real cases, and the expectations with what each handler really does.',
    "import { strict as assert } from 'node:assert';",
    "import { after, before, test } from 'node:test';",
    "import { fileURLToPath } from 'node:url';",
    `import { STATUS, startTestKit, type TestKit } from '${input.testingImport}';`,
    "import * as plugin from './index.ts';",
    '',
    'let kit: TestKit;',
    'before(async () => {',
    '  kit = await startTestKit({',
    '    plugins: [plugin],',
    `    generatedDir: fileURLToPath(new URL('${input.generatedDir}', import.meta.url)),`,
    '  });',
    '});',
    'after(() => kit?.close());',
    '',
    'const cases = [',
    ...cases,
    '];',
    '',
    'for (const c of cases) {',
    '  test(`${c.operationId} runs through the plugin and keeps its arguments`, async () => {',
    '    const outcome = await kit.run(c.operationId, c.args);',
    '    assert.equal(outcome.status, STATUS.COMPLETE, outcome.message ?? undefined);',
    `    assert.equal(outcome.handler, \`${input.name}::\${c.operationId}\`);`,
    '    assert.deepEqual(outcome.result, { received: c.operationId });',
    `    const rows = await kit.query('SELECT args FROM ${table} WHERE operation_id = $1', [c.operationId]);`,
    '    assert.equal(rows.length, 1);',
    '  });',
    '}',
    '',
  ].join('\n');
}
