import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { createTestDatabase, TEST_CRYPT_KEY } from '../support/db.ts';
import { run } from '../support/cli.ts';
import { createAdminToken, createCallerResolver, createEncryptor } from '../../src/auth/index.ts';

test('integration and admin user commands against a real schema', async (t) => {
  const db = await createTestDatabase('cli_auth');
  t.after(() => db.drop());
  const env = { DATABASE_URL: db.url, MAGENTO_ASYNC_SCHEMA: db.schema };

  let created: Record<string, string | number>;
  await t.test('integration:create --json prints the four credentials once', async () => {
    const r = await run(env, [
      'integration:create',
      '--name',
      'ERP',
      '--resources',
      'Magento_Catalog::products',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    created = JSON.parse(r.stdout);
    for (const key of ['consumerKey', 'consumerSecret', 'accessToken', 'accessTokenSecret']) {
      assert.match(String(created[key]), /^[0-9a-z]{32}$/, key);
    }
    const { rows } = await db.pool.query(`SELECT consumer_secret, token_secret FROM "${db.schema}".integration`);
    assert.doesNotMatch(
      JSON.stringify(rows),
      new RegExp(`${created.consumerSecret}|${created.accessTokenSecret}`),
      'stored encrypted',
    );
  });

  await t.test('the printed credentials sign requests the server accepts, with the ACL given', async () => {
    // The command took the deployment's key from CRYPT_KEY (test/support/db.ts), as a server would.
    const encryptor = createEncryptor(TEST_CRYPT_KEY);
    const callers = createCallerResolver(db.pool, db.schema, { encryptor });
    const url = 'http://shop.test/rest/async/V1/products/x';
    const oauth = new OAuth({
      consumer: { key: String(created.consumerKey), secret: String(created.consumerSecret) },
      signature_method: 'HMAC-SHA256',
      hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
    });
    const header = oauth.toHeader(
      oauth.authorize(
        { method: 'PUT', url },
        { key: String(created.accessToken), secret: String(created.accessTokenSecret) },
      ),
    ).Authorization;
    const caller = await callers.resolve({ method: 'PUT', url, authorization: header });
    assert.deepEqual(caller, {
      userType: 1,
      userId: created.id,
      resources: new Set(['Magento_Catalog::products']),
      tokenName: 'ERP',
    });
  });

  await t.test('integration:create in text form; names are unique among active integrations', async () => {
    const r = await run(env, ['integration:create', '--name', 'PIM', '--resources', 'all']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Created integration #\d+ "PIM" with access to all resources\./);
    for (const label of ['Consumer Key', 'Consumer Secret', 'Access Token', 'Access Token Secret']) {
      assert.match(r.stdout, new RegExp(`^${label}: +[0-9a-z]{32}$`, 'm'));
    }
    const again = await run(env, ['integration:create', '--name', 'PIM', '--resources', 'all']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /An active integration named "PIM" already exists/);
  });

  await t.test('integration:create requires --resources', async () => {
    const r = await run(env, ['integration:create', '--name', 'X']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--resources/);
  });

  await t.test('integration:list and integration:revoke by name and by id', async () => {
    const revoked = await run(env, ['integration:revoke', 'PIM']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^Revoked integration #\d+ "PIM"\.$/m);
    const list = await run(env, ['integration:list', '--json']);
    const rows = JSON.parse(list.stdout) as { name: string; revokedAt: string | null; consumerSecret?: string }[];
    assert.deepEqual(
      rows.map((r) => [r.name, r.revokedAt === null]),
      [
        ['ERP', true],
        ['PIM', false],
      ],
    );
    assert.equal(JSON.stringify(rows).includes(String(created.consumerSecret)), false, 'no secrets listed');
    const table = await run(env, ['integration:list']);
    assert.match(table.stdout, /^ID +Name +Consumer Key +Resources +Status$/m);
    assert.equal((await run(env, ['integration:revoke', String(created.id)])).code, 0);
    const missing = await run(env, ['integration:revoke', String(created.id)]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No active integration/);
  });

  await t.test("admin:user:create enforces Magento's password rules and hashes the password", async (t2) => {
    const cases = [
      { password: 'abc12', stderr: /at least 7 characters/ },
      { password: 'abcdefgh', stderr: /both numeric and alphabetic/ },
    ];
    for (const c of cases) {
      await t2.test(c.password, async () => {
        const r = await run(env, ['admin:user:create', '--admin-user', 'weak', '--admin-password', c.password]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, c.stderr);
      });
    }
    const r = await run(env, [
      'admin:user:create',
      '--admin-user',
      'ops',
      '--admin-password',
      'Secret123',
      '--resources',
      'Magento_Cms::page',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Created admin user #\d+ "ops"\.$/m);
    const { rows } = await db.pool.query(`SELECT password_hash FROM "${db.schema}".admin_user WHERE username = 'ops'`);
    assert.match(rows[0].password_hash, /^scrypt\$32768\$8\$3\$/);
    const { token } = await createAdminToken(db.pool, db.schema, 'ops', 'Secret123');
    const caller = await createCallerResolver(db.pool, db.schema, { encryptor: createEncryptor('k') }).resolve({
      method: 'GET',
      url: 'http://x/rest/V1/bulk',
      authorization: `Bearer ${token}`,
    });
    assert.deepEqual(caller, {
      userType: 2,
      userId: caller.userId,
      resources: new Set(['Magento_Cms::page']),
      tokenName: 'ops',
    });
    const dup = await run(env, ['admin:user:create', '--admin-user', 'ops', '--admin-password', 'Secret123']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
  });

  await t.test('admin:user:unlock lifts a lockout', async () => {
    const login = (password: string) =>
      createAdminToken(db.pool, db.schema, 'ops', password).then(
        () => 'ok',
        () => 'refused',
      );
    for (let i = 0; i < 6; i++) assert.equal(await login('wrong000'), 'refused');
    assert.equal(await login('Secret123'), 'refused', 'locked');
    const r = await run(env, ['admin:user:unlock', 'ops']);
    assert.equal(r.stdout, 'The user account "ops" has been unlocked\n');
    assert.equal(await login('Secret123'), 'ok');
    const again = await run(env, ['admin:user:unlock', 'ops']);
    assert.equal(again.stdout, 'The user account "ops" was not locked or could not be unlocked\n');
  });

  await t.test('every command has --help', async (t2) => {
    for (const command of [
      'integration:create',
      'integration:list',
      'integration:revoke',
      'admin:user:create',
      'admin:user:unlock',
    ]) {
      await t2.test(command, async () => {
        const r = await run(env, [command, '--help']);
        assert.equal(r.code, 0);
        assert.match(r.stdout, new RegExp(`Usage: magento-async ${command}`));
      });
    }
  });
});
