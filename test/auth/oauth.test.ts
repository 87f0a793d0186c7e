import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { createTestDatabase } from '../support/db.ts';
import { waitFor } from '../support/wait.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createEncryptor } from '../../src/auth/encryptor.ts';
import { createIntegration } from '../../src/auth/integrations.ts';
import { createOAuthVerifier } from '../../src/auth/oauth.ts';
import { oauthRequestParameters, type AuthRequest } from '../../src/auth/oauth-request.ts';
import { WebapiError } from '../../src/errors/catalogue.ts';

const URL_ = 'http://shop.test/rest/async/V1/products/x';

test('OAuth verifier against the real database', async (t) => {
  const db = await createTestDatabase('auth_oauth');
  t.after(() => db.drop());
  await migrate(db.pool, db.schema);
  const encryptor = createEncryptor('a1b2c3d4e5f60718293a4b5c6d7e8f90');
  const erp = await createIntegration(db.pool, db.schema, encryptor, { name: 'ERP', resources: 'all' });

  const sign = (nonce: string, timestamp: number): AuthRequest => {
    const oauth = new OAuth({
      consumer: { key: erp.consumerKey, secret: erp.consumerSecret },
      signature_method: 'HMAC-SHA1',
      hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
    });
    oauth.getNonce = () => nonce;
    oauth.getTimeStamp = () => timestamp;
    const data = oauth.authorize({ method: 'PUT', url: URL_ }, { key: erp.accessToken, secret: erp.accessTokenSecret });
    return { method: 'PUT', url: URL_, authorization: oauth.toHeader(data).Authorization };
  };
  const nonceRows = async () =>
    (await db.pool.query(`SELECT nonce FROM "${db.schema}".oauth_nonce ORDER BY nonce`)).rows.map((r) => r.nonce);
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: unknown) => (e instanceof WebapiError ? e.definition.template : Promise.reject(e)),
    );

  await t.test('two servers receiving the same request at once: exactly one accepts it', async () => {
    const servers = [0, 1].map(() => createOAuthVerifier(db.pool, db.schema, { encryptor }));
    const request = sign('race', Math.floor(Date.now() / 1000));
    const results = await Promise.all(servers.map((v) => outcome(v.verify(request, oauthRequestParameters(request)!))));
    assert.deepEqual(results.sort(), ['The nonce is already being used by the consumer with ID %1', 'accepted']);
  });

  await t.test(
    'nonces older than the window are deleted; their requests are refused by timestamp instead',
    async () => {
      // An hour ahead of the real clock: the first subtest's nonce is then old too.
      let clock = Math.floor(Date.now() / 1000 + 3600) * 1000;
      const verifier = createOAuthVerifier(db.pool, db.schema, {
        encryptor,
        timestampWindowSeconds: 600,
        now: () => clock,
      });
      const verify = (r: AuthRequest) => outcome(verifier.verify(r, oauthRequestParameters(r)!));
      const old = sign('old', clock / 1000);
      assert.equal(await verify(old), 'accepted');
      clock += 700_000; // past the window, and past the minute between two cleanups
      assert.equal(await verify(sign('new', clock / 1000)), 'accepted');
      // The cleanup runs after the answer: the old nonce goes, the new one stays.
      await waitFor(async () => !(await nonceRows()).includes('old'), 5000, 'the cleanup of expired nonces');
      assert.deepEqual(await nonceRows(), ['new']);
      assert.equal(await verify(old), 'Incorrect timestamp value in the oauth_timestamp parameter');
    },
  );
});
