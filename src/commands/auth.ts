/**
 * Integration and admin user commands: `integration:create|list|revoke`, `admin:user:create`.
 * Credentials are printed once; secrets are stored encrypted (integrations) or hashed (passwords).
 */
import { createEncryptor, parseResourceList, resolveCryptKey } from '../auth/index.ts';
import { createIntegration, listIntegrations, revokeIntegration } from '../auth/integrations.ts';
import { createAdminUser, unlockAdminUser } from '../auth/admin.ts';
import { formatTable, out, withDatabase } from './infra.ts';

export async function integrationCreate(opts: { name: string; resources: string; json?: boolean }): Promise<void> {
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
}

export async function integrationList(opts: { json?: boolean }): Promise<void> {
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
}

export async function integrationRevoke(idOrName: string): Promise<void> {
  await withDatabase({ migrate: true }, async (pool, config) => {
    const revoked = await revokeIntegration(pool, config.schema, idOrName);
    if (!revoked) throw new Error(`No active integration ${JSON.stringify(idOrName)}.`);
    out(`Revoked integration #${revoked.id} "${revoked.name}".`);
  });
}

export async function adminUserCreate(opts: {
  adminUser: string;
  adminPassword: string;
  adminEmail?: string;
  adminFirstname?: string;
  adminLastname?: string;
  resources: string;
}): Promise<void> {
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
}

export async function adminUserUnlock(username: string): Promise<void> {
  await withDatabase({ migrate: true }, async (pool, config) => {
    // Magento's own messages for its admin:user:unlock.
    if (await unlockAdminUser(pool, config.schema, username)) {
      out(`The user account "${username}" has been unlocked`);
    } else {
      out(`The user account "${username}" was not locked or could not be unlocked`);
    }
  });
}
