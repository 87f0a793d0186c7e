import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CRYPT_KEY_SETTING, generateCryptKey, getOrCreateCryptKey } from '../../src/auth/crypt-key.ts';
import { ident } from '../../src/db/pool.ts';
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
