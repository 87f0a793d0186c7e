/** Where every CLI command is registered; one line per area. */
import type { Command } from 'commander';
import { registerCodegenCommands } from '../codegen/command.ts';

export function registerCommands(program: Command): void {
  registerCodegenCommands(program);
}
