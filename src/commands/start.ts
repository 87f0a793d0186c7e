/** `magento-async start` (`npm start`): server, consumer and (unless DATABASE_URL) an embedded database. */
import type { Command } from 'commander';

export function registerStartCommands(program: Command): void {
  program
    .command('start')
    .description(
      'Zero-setup demo: embedded PostgreSQL in ./var unless DATABASE_URL is set, codegen when the spec changed, ' +
        'the server and one consumer in one process, a development token and a ready curl command',
    )
    .action(async () => {
      const { startDev } = await import('../dev/start.ts');
      await startDev();
    });
}
