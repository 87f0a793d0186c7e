/**
 * Every CLI command, declared: its arguments, options and help. Nothing here loads what a command
 * does: each action imports its module when that command runs, so `--help` or `bulk:status` start
 * without the server, the codegen toolchain or pg-boss (bench/cli.bench.ts measures it). Keep the
 * imports of this file to commander and src/commands/arguments.ts.
 */
import type { Command } from 'commander';
import { interval, port, positiveInt } from './commands/arguments.ts';
import { EXAMPLE_NAMES } from './plugins/examples.ts';

type Action = (...args: any[]) => void | Promise<void>;

/**
 * The named export `name` of the module `load` imports, called with the command's arguments and
 * options (commander's trailing Command object is left out: actions take plain values).
 */
function lazy<M extends Record<K, Action>, K extends string>(load: () => Promise<M>, name: K): Action {
  return async (...args: unknown[]) => {
    const module = await load();
    await module[name](...args.slice(0, -1));
  };
}

const codegen = () => import('../codegen/command.ts');
const infra = () => import('./commands/infra.ts');
const auth = () => import('./commands/auth.ts');
const consumers = () => import('./commands/consumers.ts');
const bulk = () => import('./commands/bulk.ts');
const serve = () => import('./commands/serve.ts');
const plugin = () => import('./commands/plugin.ts');
const start = () => import('./dev/start.ts');
const project = () => import('./commands/init.ts');

const RESOURCES_HELP = '"all", or comma-separated ACL resources (Magento_Catalog::products,...)';

function codegenCommands(program: Command): void {
  program
    .command('codegen')
    .description(
      'Generate the async/bulk route table, types, validators and async schemas from an OpenAPI spec, and create handler stubs for new entities',
    )
    .requiredOption('--spec <file|url>', 'spec file or http(s) URL (JSON or YAML; Swagger 2.0, OpenAPI 3.0 or 3.1)')
    .option('--out <dir>', 'output folder of the generated files (default: generatedDir of the configuration)')
    .option('--plugins <dir>', 'folder of per-entity handler stubs, created only when absent (default: pluginsDir)')
    .option('--no-stubs', 'do not create handler stubs')
    .option(
      '--with-examples [names]',
      `the shipped examples the project runs (comma-separated, default all: ${EXAMPLE_NAMES.join(',')}); no stubs for their operations. Default: plugins.examples of the configuration`,
    )
    .option('--token <token>', "bearer token sent when --spec is a URL (a store's /rest/all/schema?services=all)")
    .action(lazy(codegen, 'codegenCommand'));

  program
    .command('routes')
    .description('Print the async and bulk routes a spec yields (paths as in the spec, without /rest/<store>)')
    .requiredOption('--spec <file|url>', 'spec file or http(s) URL (JSON or YAML)')
    .option('--token <token>', 'bearer token sent when --spec is a URL')
    .option('--json', 'print a JSON array of {method, path, asyncPath, bulkPath, topic, entity, operationId, acl}')
    .action(lazy(codegen, 'routesCommand'));
}

function databaseCommands(program: Command): void {
  program
    .command('setup:upgrade')
    .description('Apply pending database migrations (the server and consumers also do this at start)')
    .action(lazy(infra, 'setupUpgrade'));

  program
    .command('store:create')
    .description('Create a store view; its code then works in URLs (/rest/<code>/async/...)')
    .requiredOption('--code <code>', 'store code: a lowercase letter, then a-z, 0-9 or _; at most 32 characters')
    .requiredOption('--name <name>', 'store view name')
    .option('--website-id <id>', 'website id', positiveInt, 1)
    .action(lazy(infra, 'storeCreate'));

  program
    .command('store:list')
    .description('List store views (id 0 is the admin scope, addressed as "all" in URLs)')
    .option('--json', 'print JSON instead of a table')
    .action(lazy(infra, 'storeList'));

  program
    .command('integration:token:create')
    .description('Issue a bearer token for REST clients; the token is printed once, as the last line')
    .requiredOption('--name <name>', 'who the token is for (shown in logs)')
    // Required: a forgotten flag must not silently grant every resource.
    .requiredOption('--resources <list>', RESOURCES_HELP)
    .action(lazy(infra, 'tokenCreate'));

  program
    .command('integration:token:revoke')
    .description('Revoke an integration token by id (servers stop accepting it within 10 seconds)')
    .argument('<id>', 'token id, as printed by integration:token:create', positiveInt)
    .action(lazy(infra, 'tokenRevoke'));
}

function authCommands(program: Command): void {
  program
    .command('integration:create')
    .description('Create an integration with OAuth 1.0a credentials (consumer key/secret, access token/secret)')
    .requiredOption('--name <name>', 'integration name (unique among active integrations)')
    .requiredOption('--resources <list>', RESOURCES_HELP)
    .option('--json', 'print the credentials as JSON')
    .action(lazy(auth, 'integrationCreate'));

  program
    .command('integration:list')
    .description('List integrations (secrets are never shown again)')
    .option('--json', 'print JSON instead of a table')
    .action(lazy(auth, 'integrationList'));

  program
    .command('integration:revoke')
    .description('Revoke an integration: all its credentials stop working (other servers within 10 seconds)')
    .argument('<id-or-name>', 'integration id or name, as printed by integration:list')
    .action(lazy(auth, 'integrationRevoke'));

  program
    .command('admin:user:create')
    .description('Create an admin user, who can get admin tokens from POST /rest/V1/integration/admin/token')
    .requiredOption('--admin-user <username>', 'user name')
    .requiredOption('--admin-password <password>', 'at least 7 characters, letters and digits')
    .option('--admin-email <email>', 'email address')
    .option('--admin-firstname <name>', 'first name')
    .option('--admin-lastname <name>', 'last name')
    .option('--resources <list>', `the user's role: ${RESOURCES_HELP}`, 'all')
    .action(lazy(auth, 'adminUserCreate'));

  program
    .command('admin:user:unlock')
    .description('Unlock an admin user name locked by failed admin token requests')
    .argument('<username>', 'user name')
    .action(lazy(auth, 'adminUserUnlock'));
}

function consumerCommands(program: Command): void {
  program
    .command('queue:consumers:start')
    .description('Consume async operations: async.operations.all, an entity (products) or a topic')
    .argument('<name>', 'consumer name (see queue:consumers:list)')
    .option('--max-messages <n>', 'stop after handling this many operations', positiveInt)
    .option('--batch-size <n>', 'jobs fetched at once', positiveInt)
    .option('--concurrency <n>', 'batches processed at once per queue', positiveInt)
    .option(
      '--metrics-port <port>',
      'serve /metrics on this port (0: any free port; default metrics.consumerPort)',
      port,
    )
    .action(lazy(consumers, 'runConsumer'));

  program
    .command('queue:consumers:list')
    .description('List the consumers and the topics each one runs')
    .action(lazy(consumers, 'consumersList'));
}

function bulkCommands(program: Command): void {
  program
    .command('bulk:status')
    .description(
      "Show a bulk's progress from the database; --watch follows it until it finishes (exit 0 only if all succeeded)",
    )
    .argument('<uuid>', 'bulk uuid, as returned by the async/bulk request')
    .option('--watch', 'redraw a progress bar until the bulk finishes')
    .option('--interval <ms>', 'refresh interval with --watch', interval, 1000)
    .option('--json', 'print the final counters as JSON')
    .action(lazy(bulk, 'bulkStatusCommand'));
}

function serverCommands(program: Command): void {
  program
    .command('serve')
    .description('Serve the async and bulk endpoints (and the bulk status API) of the generated routes')
    .option('--port <port>', 'HTTP port (env PORT, default 8080)', port)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--spec <file-or-url>', "serve this spec's routes, generated at start into var/cache")
    .option('--token <token>', 'bearer token for fetching --spec from a store')
    .action(lazy(serve, 'serve'));

  program
    .command('start')
    .description(
      'Zero-setup demo: embedded PostgreSQL in ./var unless DATABASE_URL is set, codegen when the spec changed, ' +
        'the server and one consumer in one process, a development token and a ready curl command',
    )
    .action(async () => (await start()).startDev());
}

function pluginCommands(program: Command): void {
  program
    .command('plugin:new')
    .description("Scaffold a plugin with typed handlers for an entity's operations, and a test kit test that passes")
    .argument('<entity>', 'entity of the generated routes (`magento-async routes` lists them), e.g. products')
    .option('--name <Vendor_Module>', "the plugin's name (default Local_<Entity>)")
    .option('--dir <folder>', 'folder under pluginsDir (default: the entity)')
    .addHelpText(
      'after',
      '\nWrites <pluginsDir>/<folder>/index.ts and index.test.ts from the routes codegen generated\n' +
        "(generatedDir). It never overwrites a plugin; codegen's stub for the entity is replaced.",
    )
    .action(lazy(plugin, 'pluginNewCommand'));
}

function projectCommands(program: Command): void {
  program
    .command('init')
    .description(
      'Make a store project of its own in <dir>: package.json, configuration, a plugin with its test, README',
    )
    .argument('<dir>', "the new project's folder (empty, or holding only what `npm install magento-async` made)")
    .option('--no-install', 'do not run npm install in it')
    .action(lazy(project, 'init'));
}

/** Each group of commands with the names it declares (test/commands/registry.test.ts holds them to it). */
export const COMMAND_GROUPS: readonly { names: readonly string[]; register: (program: Command) => void }[] = [
  { names: ['init'], register: projectCommands },
  { names: ['codegen', 'routes'], register: codegenCommands },
  {
    names: ['setup:upgrade', 'store:create', 'store:list', 'integration:token:create', 'integration:token:revoke'],
    register: databaseCommands,
  },
  {
    names: ['integration:create', 'integration:list', 'integration:revoke', 'admin:user:create', 'admin:user:unlock'],
    register: authCommands,
  },
  { names: ['queue:consumers:start', 'queue:consumers:list'], register: consumerCommands },
  { names: ['bulk:status'], register: bulkCommands },
  { names: ['serve', 'start'], register: serverCommands },
  { names: ['plugin:new'], register: pluginCommands },
];

/**
 * Declares the commands on `program`: when `argv` starts with a command's name, only that
 * command's group, which is all commander needs to parse and run it (its help, errors and
 * suggestions read that command's own declaration); otherwise (help, a misspelt command, global
 * options first) every command. Declaring them all, with their options, is about a tenth of a bare
 * Node's start (bench/cli.bench.ts).
 */
export function registerCommands(program: Command, argv: readonly string[] = []): void {
  const named = COMMAND_GROUPS.find((group) => group.names.includes(argv[0] ?? ''));
  for (const group of named ? [named] : COMMAND_GROUPS) group.register(program);
}
