/**
 * Integrations as Magento has them: a name, ACL resources, and one set of OAuth 1.0a credentials
 * (consumer key and secret, access token and token secret), all four issued at creation and shown
 * once. The ACL applies to every credential of the integration: OAuth-signed requests and, when
 * `oauth.integrationAsBearer` is on, the access token used as a bearer token.
 */
import type { Pool } from '../db/pool.ts';
import * as sql from '../db/sql/integrations.ts';
import { randomCredential } from './credentials.ts';
import type { Encryptor } from './encryptor.ts';
import { forgetCachedCallers, hashToken, normaliseResources } from './tokens.ts';

export interface NewIntegration {
  name: string;
  resources: 'all' | readonly string[];
}

export interface IssuedIntegration {
  id: number;
  name: string;
  resources: string[];
  consumerKey: string;
  consumerSecret: string;
  accessToken: string;
  accessTokenSecret: string;
}

export interface IntegrationSummary {
  id: number;
  name: string;
  resources: string[];
  consumerKey: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export async function createIntegration(
  pool: Pool,
  schema: string,
  encryptor: Encryptor,
  input: NewIntegration,
): Promise<IssuedIntegration> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '') throw new Error('The integration name is required.');
  const resources = normaliseResources(input.resources);
  const credentials = {
    consumerKey: randomCredential(),
    consumerSecret: randomCredential(),
    accessToken: randomCredential(),
    accessTokenSecret: randomCredential(),
  };
  try {
    const { rows } = await pool.query<{ id: number }>(sql.insertIntegration(schema), [
      name,
      resources,
      credentials.consumerKey,
      encryptor.encrypt(credentials.consumerSecret),
      hashToken(credentials.accessToken),
      encryptor.encrypt(credentials.accessTokenSecret),
    ]);
    return { id: rows[0]!.id, name, resources, ...credentials };
  } catch (error) {
    if ((error as { code?: string }).code === '23505' && /name/.test(String((error as Error).message))) {
      throw new Error(`An active integration named "${name}" already exists.`, { cause: error });
    }
    throw error;
  }
}

export async function listIntegrations(pool: Pool, schema: string): Promise<IntegrationSummary[]> {
  return (await pool.query<IntegrationSummary>(sql.selectIntegrations(schema))).rows;
}

/**
 * Revokes an active integration by id or name: all its credentials stop working, in this process
 * at once, in others within their cache TTL (10 s). Returns what was revoked, or null.
 */
export async function revokeIntegration(
  pool: Pool,
  schema: string,
  idOrName: string,
): Promise<{ id: number; name: string } | null> {
  // A number is an id, anything else a name.
  const byId = /^\d+$/.test(idOrName);
  const { rows } = await pool.query<{ id: number; name: string }>(sql.revokeIntegration(schema), [
    byId ? Number(idOrName) : null,
    byId ? null : idOrName,
  ]);
  if (rows.length > 0) forgetCachedCallers(pool);
  return rows[0] ?? null;
}
