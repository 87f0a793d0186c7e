/**
 * The deployment's crypt key (Magento's `crypt/key`), the key of every `data_hash`. All servers of
 * a deployment must use the same one, or the same input would hash differently per server.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import { insertSettingIfAbsent, selectSetting } from '../db/sql/settings.ts';
import type { Logger } from '../kernel/logger.ts';
import { readInstance, varDir } from '../runtime/instance.ts';

export const CRYPT_KEY_SETTING = 'crypt/key';

/** A new key in Magento 2.4.7+'s format: `base64` followed by the base64 of 32 random bytes. */
export function generateCryptKey(): string {
  return `base64${randomBytes(32).toString('base64')}`;
}

/** The key file `npm start` keeps beside its embedded database's record (src/dev/start.ts). */
export const INSTANCE_KEY_FILE = 'crypt.key';

export type CryptKeySettings = Pick<Config, 'cryptKey' | 'cryptKeyFile' | 'cryptKeyInDatabase' | 'mode'>;

/**
 * Where a process takes the crypt key from, in order: `CRYPT_KEY`; `cryptKeyFile` (`CRYPT_KEY_FILE`);
 * `var/crypt.key` when the database is `npm start`'s; else the database itself, only where allowed
 * (`cryptKeyInDatabase`, default: developer mode only), and then with a warning. In production a
 * key in the database sits beside the integration secrets and the sealed operation secrets it
 * encrypts, so one dump or backup opens them all: without the explicit setting, start refuses and
 * says why.
 */
export async function resolveCryptKey(
  pool: Pool,
  schema: string,
  settings: CryptKeySettings,
  databaseUrl: string,
  log?: Logger,
): Promise<string> {
  if (settings.cryptKey?.trim()) return settings.cryptKey.trim();
  const file = settings.cryptKeyFile ?? instanceKeyFile(databaseUrl);
  if (file) return readKeyFile(file, settings.cryptKeyFile !== undefined);
  const allowed = settings.cryptKeyInDatabase ?? settings.mode === 'developer';
  if (!allowed) {
    const stored = await readStored(pool, schema);
    throw new ConfigError(
      "No crypt key: set CRYPT_KEY or CRYPT_KEY_FILE. The crypt key encrypts the integrations' OAuth secrets " +
        'and the sealed secrets of queued operations, which live in the database; a key kept in that same ' +
        'database would open them for anyone holding a dump or a backup. To accept that risk anyway, set ' +
        '"cryptKeyInDatabase": true (MAGENTO_ASYNC_CRYPT_KEY_IN_DATABASE=true).' +
        (stored === undefined
          ? ''
          : ` This database already holds the key an earlier start generated (${CRYPT_KEY_SETTING} in ${schema}.setting): ` +
            'move it into CRYPT_KEY or the key file, then delete that row, or the stored secrets become unreadable.'),
    );
  }
  log?.warn(
    { setting: settings.cryptKeyInDatabase === null ? 'mode=developer' : 'cryptKeyInDatabase=true' },
    'the crypt key is kept in the database, beside the integration and operation secrets it encrypts: ' +
      'a dump or backup of it opens them all. Set CRYPT_KEY or CRYPT_KEY_FILE to keep it apart.',
  );
  return getOrCreateCryptKey(pool, schema);
}

/**
 * `npm start` keeps its key in `<var>/crypt.key` (mode 0600), outside the database, where every
 * command that reaches start's database finds it. A database an earlier version of start gave a
 * stored key keeps that key, so the secrets it encrypted stay readable. Returns the file.
 */
export async function ensureInstanceKeyFile(dir: string, pool: Pool, schema: string): Promise<string> {
  const file = join(dir, INSTANCE_KEY_FILE);
  if (existsSync(file)) return file;
  const stored = await readStored(pool, schema).catch((error: { code?: string }) => {
    if (error.code === '42P01' || error.code === '3F000') return undefined; // a new database: no table yet
    throw error;
  });
  writeFileSync(file, `${stored ?? generateCryptKey()}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}

function instanceKeyFile(databaseUrl: string): string | undefined {
  const dir = varDir();
  return readInstance(dir)?.databaseUrl === databaseUrl ? join(dir, INSTANCE_KEY_FILE) : undefined;
}

function readKeyFile(file: string, configured: boolean): string {
  const where = configured ? `cryptKeyFile (CRYPT_KEY_FILE) ${file}` : `npm start's key file ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`Cannot read the crypt key from ${where}: ${(error as Error).message}`);
  }
  if (text === '') throw new ConfigError(`The crypt key file ${where} is empty.`);
  return text;
}

async function readStored(pool: Pool, schema: string): Promise<string | undefined> {
  return (await pool.query<{ value: string }>(selectSetting(schema), [CRYPT_KEY_SETTING])).rows[0]?.value;
}

/**
 * Configuration (`CRYPT_KEY`) wins; else the stored key; else a new key is stored. Two servers
 * starting together on an empty database both try to insert, one insert wins, and both return
 * what the re-read finds, so they agree.
 */
export async function getOrCreateCryptKey(pool: Pool, schema: string, configured?: string): Promise<string> {
  const fromConfig = configured?.trim();
  if (fromConfig) return fromConfig;
  const read = () => readStored(pool, schema);
  const stored = await read();
  if (stored !== undefined) return stored;
  await pool.query(insertSettingIfAbsent(schema), [CRYPT_KEY_SETTING, generateCryptKey()]);
  const winner = await read();
  if (winner === undefined) throw new Error(`The ${CRYPT_KEY_SETTING} setting vanished right after it was stored.`);
  return winner;
}
