/**
 * Real Magento clients, unchanged, against a running server and the real database: the published
 * `magento-api-rest` library (OAuth 1.0a, HMAC-SHA1 and HMAC-SHA256), admin tokens as bearer
 * tokens, and every OAuth failure a client can cause, signed by the independent `oauth-1.0a`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import MagentoRestApiModule from 'magento-api-rest';
import OAuth from 'oauth-1.0a';
import { startTestServer, TEST_CRYPT_KEY, type TestServer } from '../support/server.ts';
import { createEncryptor } from '../../src/auth/encryptor.ts';
import { createIntegration, revokeIntegration, type IssuedIntegration } from '../../src/auth/integrations.ts';
import { createAdminUser } from '../../src/auth/admin.ts';

// A CommonJS module compiled by Babel: Node's default import is its `module.exports`.
const MagentoRestApi = (MagentoRestApiModule as unknown as { default: typeof MagentoRestApiModule.default }).default;

let server: TestServer;
let erp: IssuedIntegration;
let cmsOnly: IssuedIntegration;
const encryptor = createEncryptor(TEST_CRYPT_KEY);

before(async () => {
  server = await startTestServer('auth_clients');
  erp = await createIntegration(server.db.pool, server.db.schema, encryptor, { name: 'ERP', resources: 'all' });
  cmsOnly = await createIntegration(server.db.pool, server.db.schema, encryptor, {
    name: 'CMS sync',
    resources: ['Magento_Cms::page'],
  });
  await createAdminUser(server.db.pool, server.db.schema, {
    username: 'admin',
    password: 'admin123',
    resources: 'all',
  });
  await createAdminUser(server.db.pool, server.db.schema, {
    username: 'editor',
    password: 'editor123',
    resources: ['Magento_Cms::page'],
  });
});
after(() => server.stop());

function client(type: string, sha: 1 | 256, integration = erp, axiosConfig?: unknown) {
  return new MagentoRestApi({
    url: server.url,
    consumerKey: integration.consumerKey,
    consumerSecret: integration.consumerSecret,
    accessToken: integration.accessToken,
    tokenSecret: integration.accessTokenSecret,
    type,
    sha,
    axiosConfig,
  });
}

async function bulkOwner(uuid: string): Promise<{ user_type: number; user_id: number }> {
  const { rows } = await server.db.pool.query(
    `SELECT user_type, user_id FROM "${server.db.schema}".bulk WHERE uuid = $1`,
    [uuid],
  );
  return rows[0];
}

/** axios rejects non-2xx answers; the tests want the answer. */
async function answer(request: Promise<{ status: number; data: unknown }>): Promise<{ status: number; data: any }> {
  try {
    return await request;
  } catch (error) {
    const response = (error as { response?: { status: number; data: unknown } }).response;
    if (!response) throw error;
    return response;
  }
}

for (const sha of [1, 256] as const) {
  test(`magento-api-rest with HMAC-SHA${sha}: async PUT, bulk POST, bulk status`, async () => {
    const put = await client('async/V1', sha).put('products/24-MB01', { product: { price: 29 } });
    assert.equal(put.status, 202);
    assert.deepEqual(await bulkOwner(put.data.bulk_uuid), { user_type: 1, user_id: erp.id });

    const bulk = await client('async/bulk/V1', sha).post('products', [
      { product: { sku: 'a', name: 'A', price: 1 } },
      { product: { sku: 'b', name: 'B', price: 2 } },
    ]);
    assert.equal(bulk.status, 202);
    assert.deepEqual(
      bulk.data.request_items.map((i: { status: string }) => i.status),
      ['accepted', 'accepted'],
    );

    // The library's get() adds `?searchCriteria=`, which is signed like any query parameter.
    const status = await client('V1', sha).get(`bulk/${bulk.data.bulk_uuid}/status`);
    assert.equal(status.status, 200);
    assert.equal(status.data.bulk_id, bulk.data.bulk_uuid);
    assert.equal(status.data.operation_count, 2);
  });
}

test('an admin token from POST /V1/integration/admin/token works as a bearer token in the same client', async () => {
  const res = await server.request('POST', '/rest/V1/integration/admin/token', {
    token: null,
    body: { username: 'admin', password: 'admin123' },
  });
  assert.equal(res.status, 200);
  assert.equal(typeof res.json, 'string', 'the token is a JSON string, as Magento answers');
  const headers = { Authorization: `Bearer ${res.json}`, 'Content-Type': 'application/json' };
  const bulk = await client('async/bulk/V1', 1, erp, { headers }).post('products', [{ product: { sku: 'c' } }]);
  assert.equal(bulk.status, 202);
  const owner = await bulkOwner(bulk.data.bulk_uuid);
  assert.equal(owner.user_type, 2, 'an admin bulk');
  const status = await client('V1', 1, erp, { headers }).get(`bulk/${bulk.data.bulk_uuid}/status`);
  assert.equal(status.data.user_type, 2);
});

test('ACL: an integration or admin may only call routes of its resources', async () => {
  const refused = await answer(client('async/V1', 1, cmsOnly).put('products/x', { product: { price: 1 } }));
  assert.equal(refused.status, 401);
  assert.deepEqual(refused.data, {
    message: "The consumer isn't authorized to access %resources.",
    parameters: { resources: 'Magento_Catalog::products' },
  });
  const allowed = await answer(client('async/bulk/V1', 256, cmsOnly).delete('cmsPage/byPageId'));
  assert.notEqual(allowed.status, 401);

  const login = await server.request('POST', '/rest/V1/integration/admin/token', {
    token: null,
    body: { username: 'editor', password: 'editor123' },
  });
  const res = await server.request('PUT', '/rest/async/V1/products/x', { token: login.json, body: { product: {} } });
  assert.equal(res.status, 401);
});

// ---- OAuth failures, signed by hand with oauth-1.0a so nonce and timestamp are ours to choose.

interface Signing {
  method?: string;
  path?: string;
  consumerKey?: string;
  consumerSecret?: string;
  token?: string;
  tokenSecret?: string;
  nonce?: string;
  timestamp?: number;
  signatureMethod?: 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT';
  /** Changes the header after signing. */
  tamper?: (header: string) => string;
  /** The URL signed, when it differs from the one requested. */
  signedUrl?: string;
  headers?: Record<string, string>;
}

let nonceCounter = 0;

function oauthHeader(s: Signing, url: string): string {
  const method = s.signatureMethod ?? 'HMAC-SHA1';
  const oauth = new OAuth({
    consumer: { key: s.consumerKey ?? erp.consumerKey, secret: s.consumerSecret ?? erp.consumerSecret },
    signature_method: method,
    hash_function: (base, key) =>
      method === 'PLAINTEXT'
        ? key
        : createHmac(method === 'HMAC-SHA256' ? 'sha256' : 'sha1', key)
            .update(base)
            .digest('base64'),
  });
  oauth.getNonce = () => s.nonce ?? `n${process.pid}x${++nonceCounter}`;
  oauth.getTimeStamp = () => s.timestamp ?? Math.floor(Date.now() / 1000);
  const data = oauth.authorize(
    { method: s.method ?? 'PUT', url: s.signedUrl ?? url },
    { key: s.token ?? erp.accessToken, secret: s.tokenSecret ?? erp.accessTokenSecret },
  );
  const header = oauth.toHeader(data).Authorization;
  return s.tamper ? s.tamper(header) : header;
}

async function signed(s: Signing = {}) {
  const url = server.url + (s.path ?? '/rest/async/V1/products/24-MB01');
  const method = s.method ?? 'PUT';
  const response = await fetch(url, {
    method,
    headers: { Authorization: oauthHeader(s, url), 'Content-Type': 'application/json', ...s.headers },
    body: method === 'GET' ? undefined : '{"product":{"price":5}}',
  });
  return { status: response.status, json: (await response.json()) as unknown };
}

const now = () => Math.floor(Date.now() / 1000);
const unauthorized = (message: string, parameters?: unknown) => ({
  status: 401,
  json: parameters === undefined ? { message } : { message, parameters },
});

test('OAuth failures get Magento-format 401s (and malformed requests 400s)', async (t) => {
  const cases: { name: string; signing: Signing; expected: { status: number; json: unknown } }[] = [
    {
      name: 'tampered signature',
      signing: { tamper: (h) => h.replace(/oauth_signature="[^"]+/, 'oauth_signature="AAAA') },
      expected: unauthorized('The signature is invalid. Verify and try again.'),
    },
    {
      name: 'signed for another path',
      signing: { signedUrl: `${'http://127.0.0.1:1'}/rest/async/V1/products/other` },
      expected: unauthorized('The signature is invalid. Verify and try again.'),
    },
    {
      name: 'wrong consumer secret',
      signing: { consumerSecret: 'x'.repeat(32) },
      expected: unauthorized('The signature is invalid. Verify and try again.'),
    },
    {
      name: 'wrong token secret',
      signing: { tokenSecret: 'x'.repeat(32) },
      expected: unauthorized('The signature is invalid. Verify and try again.'),
    },
    {
      name: 'stale timestamp (an hour old)',
      signing: { timestamp: now() - 3600 },
      expected: unauthorized('Incorrect timestamp value in the oauth_timestamp parameter'),
    },
    {
      name: 'timestamp from the future',
      signing: { timestamp: now() + 3600 },
      expected: unauthorized('Incorrect timestamp value in the oauth_timestamp parameter'),
    },
    {
      name: 'unknown consumer key',
      signing: { consumerKey: 'k'.repeat(32) },
      expected: unauthorized('A consumer having the specified key does not exist'),
    },
    {
      name: 'consumer key of the wrong length',
      signing: { consumerKey: 'short' },
      expected: unauthorized('Consumer key is not the correct length'),
    },
    {
      name: "another integration's access token",
      signing: { token: cmsOnly.accessToken, tokenSecret: cmsOnly.accessTokenSecret },
      expected: unauthorized('Token is not associated with the specified consumer'),
    },
    {
      name: 'unknown access token',
      signing: { token: 't'.repeat(32) },
      expected: unauthorized('Specified token does not exist'),
    },
    {
      name: 'token of the wrong length',
      signing: { token: 'short' },
      expected: { status: 400, json: { message: 'The token length is invalid. Check the length and try again.' } },
    },
    {
      name: 'PLAINTEXT signature method',
      signing: { signatureMethod: 'PLAINTEXT' },
      expected: { status: 400, json: { message: 'Signature method %1 is not supported', parameters: ['PLAINTEXT'] } },
    },
    {
      name: 'no oauth_token',
      signing: { tamper: (h) => h.replace(/oauth_token="[^"]+",?\s*/, '') },
      expected: {
        status: 400,
        json: { message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'oauth_token' } },
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => assert.deepEqual(await signed(c.signing), c.expected));
  }
});

test('a replayed request (same nonce) is refused, on every server sharing the database', async () => {
  const s: Signing = { nonce: `replay${process.pid}`, timestamp: now() };
  assert.equal((await signed(s)).status, 202);
  assert.deepEqual(
    await signed(s),
    unauthorized('The nonce is already being used by the consumer with ID %1', [String(erp.id)]),
  );
});

test('a forged request does not use up the nonce of the real one', async () => {
  const nonce = `first${process.pid}`;
  const forged = await signed({ nonce, tamper: (h) => h.replace(/oauth_signature="[^"]+/, 'oauth_signature="AAAA') });
  assert.equal(forged.status, 401);
  assert.equal((await signed({ nonce })).status, 202);
});

test('behind a TLS proxy: a signature over the https URL verifies with X-Forwarded-Proto', async () => {
  const path = '/rest/async/V1/products/24-MB01';
  const httpsUrl = server.url.replace(/^http:/, 'https:') + path;
  assert.equal((await signed({ signedUrl: httpsUrl, headers: { 'X-Forwarded-Proto': 'https' } })).status, 202);
  assert.equal((await signed({ signedUrl: httpsUrl })).status, 401, 'without the header the URL is http');
});

test('search criteria signed in RFC 5849 byte order verify too (Magento itself wants natural order)', async () => {
  // Filters 2 and 10: natural order puts 2 first, byte order 10; oauth-1.0a signs in byte order.
  const f = (i: number) =>
    `searchCriteria[filter_groups][0][filters][${i}][field]=status&searchCriteria[filter_groups][0][filters][${i}][value]=4`;
  const path = `/rest/V1/bulk?${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(f).join('&')}`;
  const res = await signed({ method: 'GET', path });
  assert.equal(res.status, 200, JSON.stringify(res.json));
});

test('revoking an integration stops its credentials at once in this process', async () => {
  const temp = await createIntegration(server.db.pool, server.db.schema, encryptor, { name: 'temp', resources: 'all' });
  const creds = {
    consumerKey: temp.consumerKey,
    consumerSecret: temp.consumerSecret,
    token: temp.accessToken,
    tokenSecret: temp.accessTokenSecret,
  };
  assert.equal((await signed(creds)).status, 202);
  // The server's own pool: a revocation through it clears that process's caches at once.
  await revokeIntegration(server.pool, server.db.schema, String(temp.id));
  assert.deepEqual(await signed(creds), unauthorized('Access token has been revoked'));
});

test("an integration's access token is not a bearer token unless oauth.integrationAsBearer is on", async () => {
  const res = await server.request('PUT', '/rest/async/V1/products/x', {
    token: erp.accessToken,
    body: { product: {} },
  });
  assert.equal(res.status, 401, 'off by default in production mode, as Magento 2.4.4+');
  const bearer = await startTestServer('auth_bearer', { oauth: { integrationAsBearer: true } });
  try {
    const own = await createIntegration(bearer.db.pool, bearer.db.schema, encryptor, { name: 'ERP', resources: 'all' });
    const ok = await bearer.request('PUT', '/rest/async/V1/products/x', {
      token: own.accessToken,
      body: { product: {} },
    });
    assert.equal(ok.status, 202);
    assert.equal((await bulkOwnerOn(bearer, ok.json.bulk_uuid)).user_id, own.id, 'the same integration as over OAuth');
  } finally {
    await bearer.stop();
  }
});

async function bulkOwnerOn(s: TestServer, uuid: string) {
  const { rows } = await s.db.pool.query(`SELECT user_id FROM "${s.db.schema}".bulk WHERE uuid = $1`, [uuid]);
  return rows[0] as { user_id: number };
}

test('admin token: Magento messages for missing fields, wrong passwords and the lockout', async (t) => {
  await createAdminUser(server.db.pool, server.db.schema, {
    username: 'locked',
    password: 'right123',
    resources: 'all',
  });
  const login = (body: unknown) => server.request('POST', '/rest/V1/integration/admin/token', { token: null, body });
  const failed = {
    message:
      'The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.',
  };
  await t.test('missing fields', async () => {
    const one = await login({ username: 'admin' });
    assert.equal(one.status, 400);
    assert.deepEqual(one.json, {
      message: '"%fieldName" is required. Enter and try again.',
      parameters: { fieldName: 'password' },
    });
    const both = await login({});
    assert.equal(both.status, 400);
    assert.equal(both.json.message, 'One or more input exceptions have occurred.');
    assert.equal(both.json.errors.length, 2);
  });
  await t.test('unknown user and wrong password: the same 401', async () => {
    for (const body of [
      { username: 'nobody', password: 'x1234567' },
      { username: 'admin', password: 'wrong123' },
    ]) {
      const res = await login(body);
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, failed);
    }
  });
  await t.test('six failures lock the user name, even for the right password', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await login({ username: 'locked', password: `wrong${i}x` })).status, 401);
    const res = await login({ username: 'locked', password: 'right123' });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, failed);
    assert.equal((await login({ username: 'admin', password: 'admin123' })).status, 200, 'other users are not locked');
  });
  await t.test('twenty wrong passwords at once lock the user name as surely as twenty in a row', async () => {
    // Checking the count, verifying the password and then counting the failure let every guess of a
    // parallel burst pass the check: the right password still got a token afterwards.
    await createAdminUser(server.db.pool, server.db.schema, {
      username: 'raced',
      password: 'right123',
      resources: 'all',
    });
    const guesses = Array.from({ length: 20 }, (_, i) => login({ username: 'raced', password: `guess${i}xx` }));
    // Sent as soon as the server has answered one guess, while the others may still be checked: it
    // must find the name locked by them.
    await Promise.race(guesses);
    const right = await login({ username: 'raced', password: 'right123' });
    assert.deepEqual(
      (await Promise.all(guesses)).map((g) => g.status),
      Array(20).fill(401),
    );
    assert.equal(right.status, 401, 'locked by the burst');
    assert.deepEqual(right.json, failed);
  });
  await t.test('an admin token lives 4 hours', async () => {
    const { rows } = await server.db.pool.query(
      `SELECT round(extract(epoch FROM expires_at - created_at))::int AS seconds FROM "${server.db.schema}".admin_token ORDER BY id DESC LIMIT 1`,
    );
    assert.equal(rows[0].seconds, 4 * 3600);
  });
});
