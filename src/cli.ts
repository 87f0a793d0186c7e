/**
 * The `magento-async` command line. Each area registers its own commands so this file stays an
 * index: codegen (routes, codegen), database (setup:upgrade), stores, tokens, server, consumers, bulk.
 */
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.ts';
import { PACKAGE_JSON } from './kernel/package.ts';

/** The command line for `argv` (the arguments after the command's name): see registerCommands. */
export function buildProgram(argv: readonly string[] = []): Command {
  const program = new Command('magento-async')
    .description('Magento-compatible asynchronous and bulk endpoints for any OpenAPI-described REST API')
    .version(PACKAGE_JSON.version)
    .option('-v, --verbose', 'say on stderr which database (and why) a command uses')
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', (command) => {
      // Read where the database is resolved (src/runtime/instance.ts), far from commander.
      if (command.opts().verbose) process.env.MAGENTO_ASYNC_VERBOSE = '1';
    });
  registerCommands(program, argv);
  return program;
}

let pipesGuarded = false;

/**
 * A reader that closes the pipe early (`routes --json | head`) is not an error: the output is no
 * longer wanted, so the process ends quietly instead of printing an EPIPE stack trace.
 */
function guardPipes(): void {
  if (pipesGuarded) return;
  pipesGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw error;
    });
  }
}

/** Runs the CLI and returns the process exit code instead of exiting, so tests can drive it. */
export async function main(argv: string[]): Promise<number> {
  guardPipes();
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`magento-async: ${message}\n`);
    return 1;
  }
}
