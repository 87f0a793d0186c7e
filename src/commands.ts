/** Where every CLI command is registered; one line per area. */
import type { Command } from 'commander';
import { registerCodegenCommands } from '../codegen/command.ts';
import { registerInfraCommands } from './commands/infra.ts';
import { registerAuthCommands } from './commands/auth.ts';
import { registerConsumerCommands } from './commands/consumers.ts';
import { registerBulkCommands } from './commands/bulk.ts';
import { registerServeCommands } from './commands/serve.ts';
import { registerStartCommands } from './commands/start.ts';
import { registerPluginCommands } from './commands/plugin.ts';

export function registerCommands(program: Command): void {
  registerCodegenCommands(program);
  registerInfraCommands(program);
  registerAuthCommands(program);
  registerConsumerCommands(program);
  registerBulkCommands(program);
  registerServeCommands(program);
  registerStartCommands(program);
  registerPluginCommands(program);
}
