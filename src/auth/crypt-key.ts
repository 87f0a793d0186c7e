/**
 * The deployment's crypt key (Magento's `crypt/key`), the key of every `data_hash`. All servers of
 * a deployment must use the same one, or the same input would hash differently per server.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from '../db/pool.ts';
import { insertSettingIfAbsent, selectSetting } from '../db/sql/settings.ts';

export const CRYPT_KEY_SETTING = 'crypt/key';

/** A new key in Magento 2.4.7+'s format: `base64` followed by the base64 of 32 random bytes. */
export function generateCryptKey(): string {
  return `base64${randomBytes(32).toString('base64')}`;
}

/**
 * Configuration (`CRYPT_KEY`) wins; else the stored key; else a new key is stored. Two servers
 * starting together on an empty database both try to insert, one insert wins, and both return
 * what the re-read finds, so they agree.
 */
export async function getOrCreateCryptKey(pool: Pool, schema: string, configured?: string): Promise<string> {
  const fromConfig = configured?.trim();
  if (fromConfig) return fromConfig;
  const read = async (): Promise<string | undefined> =>
    (await pool.query<{ value: string }>(selectSetting(schema), [CRYPT_KEY_SETTING])).rows[0]?.value;
  const stored = await read();
  if (stored !== undefined) return stored;
  await pool.query(insertSettingIfAbsent(schema), [CRYPT_KEY_SETTING, generateCryptKey()]);
  const winner = await read();
  if (winner === undefined) throw new Error(`The ${CRYPT_KEY_SETTING} setting vanished right after it was stored.`);
  return winner;
}
