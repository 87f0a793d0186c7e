/**
 * Integration and admin user commands: `integration:create|list|revoke`, `admin:user:create`.
 * Credentials are printed once; secrets are stored encrypted (integrations) or hashed (passwords).
 */
import type { Command } from 'commander';
import { createEncryptor, parseResourceList, resolveCryptKey } from '../auth/index.ts';
import { createIntegration, listIntegrations, revokeIntegration } from '../auth/integrations.ts';
import { createAdminUser, unlockAdminUser } from '../auth/admin.ts';
import { formatTable, out, withDatabase } from './infra.ts';

const RESOURCES_HELP = '"all", or comma-separated ACL resources (Magento_Catalog::products,...)';

export function registerAuthCommands(program: Command): void {
  program
    .command('integration:create')
    .description('Create an integration with OAuth 1.0a credentials (consumer key/secret, access token/secret)')
    .requiredOption('--name <name>', 'integration name (unique among active integrations)')
    .requiredOption('--resources <list>', RESOURCES_HELP)
    .option('--json', 'print the credentials as JSON')
    .action(async (opts: { name: string; resources: string; json?: boolean }) => {
      await withDatabase({ migrate: true }, async (pool, config) => {
        const encryptor = createEncryptor(await resolveCryptKey(pool, config.schema, config, config.databaseUrl!));
        const issued = await createIntegration(pool, config.schema, encryptor, {
          name: opts.name,
          resources: parseResourceList(opts.resources),
        });
        if (opts.json) {
          out(JSON.stringify(issued, null, 2));
          return;
        }
        const granted = issued.resources.includes('all') ? 'all resources' : issued.resources.join(', ');
        out(`Created integration #${issued.id} "${issued.name}" with access to ${granted}.`);
        out('Its credentials are shown once (the secrets are stored encrypted):');
        out(`Consumer Key:        ${issued.consumerKey}`);
        out(`Consumer Secret:     ${issued.consumerSecret}`);
        out(`Access Token:        ${issued.accessToken}`);
        out(`Access Token Secret: ${issued.accessTokenSecret}`);
      });
    });

  program
    .command('integration:list')
    .description('List integrations (secrets are never shown again)')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      await withDatabase({ migrate: true }, async (pool, config) => {
        const rows = await listIntegrations(pool, config.schema);
        if (opts.json) {
          out(JSON.stringify(rows, null, 2));
          return;
        }
        out(
          formatTable(
            ['ID', 'Name', 'Consumer Key', 'Resources', 'Status'],
            rows.map((r) => [
              String(r.id),
              r.name,
              r.consumerKey,
              r.resources.join(', '),
              r.revokedAt ? `revoked ${r.revokedAt.toISOString()}` : 'active',
            ]),
          ),
        );
      });
    });

  program
    .command('integration:revoke')
    .description('Revoke an integration: all its credentials stop working (other servers within 10 seconds)')
    .argument('<id-or-name>', 'integration id or name, as printed by integration:list')
    .action(async (idOrName: string) => {
      await withDatabase({ migrate: true }, async (pool, config) => {
        const revoked = await revokeIntegration(pool, config.schema, idOrName);
        if (!revoked) throw new Error(`No active integration ${JSON.stringify(idOrName)}.`);
        out(`Revoked integration #${revoked.id} "${revoked.name}".`);
      });
    });

  program
    .command('admin:user:create')
    .description('Create an admin user, who can get admin tokens from POST /rest/V1/integration/admin/token')
    .requiredOption('--admin-user <username>', 'user name')
    .requiredOption('--admin-password <password>', 'at least 7 characters, letters and digits')
    .option('--admin-email <email>', 'email address')
    .option('--admin-firstname <name>', 'first name')
    .option('--admin-lastname <name>', 'last name')
    .option('--resources <list>', `the user's role: ${RESOURCES_HELP}`, 'all')
    .action(
      async (opts: {
        adminUser: string;
        adminPassword: string;
        adminEmail?: string;
        adminFirstname?: string;
        adminLastname?: string;
        resources: string;
      }) => {
        await withDatabase({ migrate: true }, async (pool, config) => {
          const user = await createAdminUser(pool, config.schema, {
            username: opts.adminUser,
            password: opts.adminPassword,
            resources: parseResourceList(opts.resources),
            email: opts.adminEmail,
            firstname: opts.adminFirstname,
            lastname: opts.adminLastname,
          });
          out(`Created admin user #${user.id} "${opts.adminUser.trim()}".`);
        });
      },
    );

  program
    .command('admin:user:unlock')
    .description('Unlock an admin user name locked by failed admin token requests')
    .argument('<username>', 'user name')
    .action(async (username: string) => {
      await withDatabase({ migrate: true }, async (pool, config) => {
        // Magento's own messages for its admin:user:unlock.
        if (await unlockAdminUser(pool, config.schema, username)) {
          out(`The user account "${username}" has been unlocked`);
        } else {
          out(`The user account "${username}" was not locked or could not be unlocked`);
        }
      });
    });
}
