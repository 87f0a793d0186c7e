import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRYPT_KEY_SETTING, generateCryptKey, getOrCreateCryptKey, resolveCryptKey } from '../../src/auth/crypt-key.ts';
import { ConfigError } from '../../src/config.ts';
import { ident, type Pool } from '../../src/db/pool.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { createTestDatabase } from '../support/db.ts';

test('generateCryptKey uses the Magento 2.4.7+ format', () => {
  const key = generateCryptKey();
  assert.match(key, /^base64[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(key.slice('base64'.length), 'base64').length, 32);
  assert.notEqual(generateCryptKey(), key);
});

test('getOrCreateCryptKey: configured wins, else stored, else generated once', async (t) => {
  const db = await createTestDatabase('crypt_key');
  t.after(() => db.drop());
  const stored = async () =>
    (await db.pool.query(`SELECT value FROM ${ident(db.schema)}.setting WHERE key = $1`, [CRYPT_KEY_SETTING])).rows;

  assert.equal(await getOrCreateCryptKey(db.pool, db.schema, ' base64configured '), 'base64configured');
  assert.deepEqual(await stored(), [], 'a configured key is not written');

  // Servers starting at once on an empty database agree on one key.
  const keys = await Promise.all(Array.from({ length: 6 }, () => getOrCreateCryptKey(db.pool, db.schema)));
  assert.equal(new Set(keys).size, 1);
  assert.match(keys[0]!, /^base64/);
  assert.deepEqual(await stored(), [{ value: keys[0] }]);

  assert.equal(await getOrCreateCryptKey(db.pool, db.schema, ''), keys[0], 'empty config falls back to the stored key');
  assert.equal(await getOrCreateCryptKey(db.pool, db.schema, 'base64other'), 'base64other', 'config still wins');
});

describe('resolveCryptKey: where a process takes its key from', () => {
  const production = {
    cryptKey: undefined,
    cryptKeyFile: undefined,
    cryptKeyInDatabase: null,
    mode: 'production',
  } as const;
  const url = 'postgres://nobody@127.0.0.1:1/none'; // not npm start's database: no var/crypt.key fallback

  test('production without CRYPT_KEY or a key file refuses, and says why a key in the database is unsafe', async (t) => {
    const db = await createTestDatabase('crypt_key_policy');
    t.after(() => db.drop());
    await assert.rejects(resolveCryptKey(db.pool, db.schema, production, url), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^No crypt key: set CRYPT_KEY or CRYPT_KEY_FILE\./);
      assert.match(error.message, /a dump or a backup/);
      assert.match(error.message, /"cryptKeyInDatabase": true \(MAGENTO_ASYNC_CRYPT_KEY_IN_DATABASE=true\)/);
      return true;
    });
    const rows = await db.pool.query(`SELECT 1 FROM ${ident(db.schema)}.setting WHERE key = $1`, [CRYPT_KEY_SETTING]);
    assert.equal(rows.rowCount, 0, 'no key was generated and stored');

    // Allowed explicitly (or in developer mode): the stored key, with a warning that says why it is unsafe.
    const warnings: string[] = [];
    const log = { warn: (_: unknown, message: string) => warnings.push(message) } as unknown as Logger;
    const key = await resolveCryptKey(db.pool, db.schema, { ...production, cryptKeyInDatabase: true }, url, log);
    assert.match(key, /^base64/);
    assert.match(warnings.join('\n'), /kept in the database, beside the integration and operation secrets it encrypts/);
    assert.equal(await resolveCryptKey(db.pool, db.schema, { ...production, mode: 'developer' }, url), key);

    // A database that already holds a key says how to move it out.
    await assert.rejects(
      resolveCryptKey(db.pool, db.schema, production, url),
      /already holds the key an earlier start generated/,
    );
  });

  test('CRYPT_KEY, then the key file; a missing or empty file is a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crypt-key-'));
    try {
      const file = join(dir, 'key');
      writeFileSync(file, 'base64fromfile\n', { mode: 0o600 });
      const none = null as unknown as Pool; // neither reaches the database
      assert.equal(await resolveCryptKey(none, 's', { ...production, cryptKeyFile: file }, url), 'base64fromfile');
      assert.equal(
        await resolveCryptKey(none, 's', { ...production, cryptKey: 'base64env', cryptKeyFile: file }, url),
        'base64env',
      );
      await assert.rejects(
        resolveCryptKey(none, 's', { ...production, cryptKeyFile: join(dir, 'absent') }, url),
        /^ConfigError: Cannot read the crypt key from cryptKeyFile \(CRYPT_KEY_FILE\) .*absent: ENOENT/,
      );
      writeFileSync(file, '\n');
      await assert.rejects(resolveCryptKey(none, 's', { ...production, cryptKeyFile: file }, url), /is empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
