import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  authenticate,
  bearerToken,
  createAuthenticator,
  createIntegrationToken,
  GUEST,
  revokeIntegrationToken,
} from '../../src/auth/tokens.ts';
import { ident } from '../../src/db/pool.ts';
import { createTestDatabase } from '../support/db.ts';

test('bearerToken parses the Authorization header', async (t) => {
  const cases: [string | undefined, string | null][] = [
    [undefined, null],
    ['', null],
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER   abc  ', 'abc'],
    ['Basic dXNlcjpwYXNz', null],
    ['Bearer', null],
    ['Bearer a b', null],
    ['OAuth oauth_consumer_key="x"', null],
  ];
  for (const [header, token] of cases) {
    await t.test(JSON.stringify(header), () => assert.equal(bearerToken(header), token));
  }
});

test('tokens: issue, authenticate, cache, revoke', async (t) => {
  const db = await createTestDatabase('tokens');
  t.after(() => db.drop());

  const all = await createIntegrationToken(db.pool, db.schema, { name: 'ERP', resources: 'all' });
  const some = await createIntegrationToken(db.pool, db.schema, {
    name: 'PIM',
    resources: ['Magento_Catalog::products', 'Magento_Cms::page', 'Magento_Catalog::products'],
  });
  assert.match(all.token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.notEqual(all.token, some.token);

  await t.test('only the sha256 of the token is stored', async () => {
    const { rows } = await db.pool.query(
      `SELECT token_hash, resources FROM ${ident(db.schema)}.integration_token WHERE id = $1`,
      [some.id],
    );
    assert.deepEqual(rows[0].token_hash, createHash('sha256').update(some.token).digest());
    assert.deepEqual(rows[0].resources, ['Magento_Catalog::products', 'Magento_Cms::page']);
  });

  await t.test('callers', async (t2) => {
    const cases: { name: string; header: string | undefined; expected: unknown }[] = [
      { name: 'no header: guest', header: undefined, expected: GUEST },
      { name: 'unknown token: guest', header: 'Bearer nope', expected: GUEST },
      { name: 'other scheme: guest', header: `Basic ${all.token}`, expected: GUEST },
      {
        name: 'all-resources token',
        header: `Bearer ${all.token}`,
        expected: { userType: 1, userId: all.id, resources: 'all', tokenName: 'ERP' },
      },
      {
        name: 'token with resources',
        header: `Bearer ${some.token}`,
        expected: {
          userType: 1,
          userId: some.id,
          resources: new Set(['Magento_Catalog::products', 'Magento_Cms::page']),
          tokenName: 'PIM',
        },
      },
    ];
    for (const c of cases) {
      await t2.test(c.name, async () => {
        assert.deepEqual(await authenticate(db.pool, db.schema, c.header), c.expected);
      });
    }
  });

  await t.test('lookups are cached for the TTL; revocation shows after it', async () => {
    let clock = 0;
    const auth = createAuthenticator(db.pool, db.schema, { ttlMs: 10_000, now: () => clock });
    const victim = await createIntegrationToken(db.pool, db.schema, { name: 'victim', resources: 'all' });
    const header = `Bearer ${victim.token}`;
    assert.equal((await auth.authenticate(header)).userId, victim.id);

    // Revoke behind this authenticator's back (as another process would).
    await db.pool.query(`UPDATE ${ident(db.schema)}.integration_token SET revoked_at = now() WHERE id = $1`, [
      victim.id,
    ]);
    clock = 9_999;
    assert.equal((await auth.authenticate(header)).userId, victim.id, 'still cached');
    clock = 10_000;
    assert.deepEqual(await auth.authenticate(header), GUEST, 'revoked after the TTL');
  });

  await t.test('revokeIntegrationToken takes effect at once in this process', async () => {
    const header = `Bearer ${some.token}`;
    assert.equal((await authenticate(db.pool, db.schema, header)).userId, some.id);
    assert.equal(await revokeIntegrationToken(db.pool, db.schema, some.id), true);
    assert.deepEqual(await authenticate(db.pool, db.schema, header), GUEST);
    assert.equal(await revokeIntegrationToken(db.pool, db.schema, some.id), false, 'already revoked');
  });

  await t.test('the cache is bounded', async () => {
    const auth = createAuthenticator(db.pool, db.schema, { maxEntries: 3 });
    for (let i = 0; i < 10; i++) await auth.authenticate(`Bearer junk${i}`);
    // Still answers correctly after evictions.
    assert.equal((await auth.authenticate(`Bearer ${all.token}`)).userId, all.id);
  });

  await t.test('invalid input', async () => {
    await assert.rejects(
      createIntegrationToken(db.pool, db.schema, { name: ' ', resources: 'all' }),
      /name is required/,
    );
    await assert.rejects(createIntegrationToken(db.pool, db.schema, { name: 'x', resources: [] }), /At least one/);
    await assert.rejects(
      createIntegrationToken(db.pool, db.schema, { name: 'x', resources: ['a b'] }),
      /Invalid ACL resource/,
    );
  });
});
