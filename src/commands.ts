/** Where every CLI command is registered; one line per area. */
import type { Command } from 'commander';
import { registerCodegenCommands } from '../codegen/command.ts';
import { registerInfraCommands } from './commands/infra.ts';

export function registerCommands(program: Command): void {
  registerCodegenCommands(program);
  registerInfraCommands(program);
}
