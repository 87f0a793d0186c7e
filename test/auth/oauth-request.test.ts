import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authRequestOf, oauthHeaderParameters, oauthRequestParameters } from '../../src/auth/oauth-request.ts';

test("the Authorization header is read as Magento's Oauth\\Helper\\Request reads it", () => {
  const cases: { name: string; header: string | undefined; expected: Record<string, string> | null }[] = [
    { name: 'no header', header: undefined, expected: null },
    { name: 'a bearer token', header: 'Bearer abc', expected: null },
    {
      name: 'realm and other names are dropped, names and values rawurldecoded',
      header: 'OAuth realm="x", oauth_consumer_key="a%20b", oauth_nonce="n%2B1", foo="bar"',
      expected: { oauth_consumer_key: 'a b', oauth_nonce: 'n+1' },
    },
    {
      name: 'scheme in any case, unquoted values',
      header: 'oauth oauth_token=t,oauth_nonce=n',
      expected: { oauth_token: 't', oauth_nonce: 'n' },
    },
    {
      name: 'a value holding "=" keeps it',
      header: 'OAuth oauth_signature="ab=="',
      expected: { oauth_signature: 'ab==' },
    },
    {
      name: 'a pair without "=" is skipped',
      header: 'OAuth oauth_token, oauth_nonce="n"',
      expected: { oauth_nonce: 'n' },
    },
    {
      name: 'the last of a repeated name wins',
      header: 'OAuth oauth_nonce="1", oauth_nonce="2"',
      expected: { oauth_nonce: '2' },
    },
  ];
  for (const c of cases) {
    const got = oauthHeaderParameters(c.header);
    assert.deepEqual(got === null ? null : Object.fromEntries(got), c.expected, c.name);
  }
});

test('query parameters join the signed parameters only with exactly one "="', () => {
  const params = oauthRequestParameters({
    method: 'GET',
    url: 'http://x/rest/V1/bulk?searchCriteria&a=1&b=x+y%21&c=1=2&oauth_token=ignored#frag',
    authorization: 'OAuth oauth_nonce="n"',
  });
  assert.deepEqual(Object.fromEntries(params!), { oauth_nonce: 'n', a: '1', b: 'x y!' });
  assert.equal(oauthRequestParameters({ method: 'GET', url: 'http://x/?a=1', authorization: null }), null);
});

test('the request URL is the one the client addressed, X-Forwarded-Proto included', () => {
  const cases: { headers: Record<string, string>; encrypted: boolean; url: string }[] = [
    { headers: { host: 'shop.test:8080' }, encrypted: false, url: 'http://shop.test:8080/rest/V1/x?a=1' },
    { headers: { host: 'shop.test' }, encrypted: true, url: 'https://shop.test/rest/V1/x?a=1' },
    {
      headers: { host: 'shop.test', 'x-forwarded-proto': 'https, http' },
      encrypted: false,
      url: 'https://shop.test/rest/V1/x?a=1',
    },
    {
      headers: { host: 'shop.test', 'x-forwarded-proto': 'gopher' },
      encrypted: false,
      url: 'http://shop.test/rest/V1/x?a=1',
    },
  ];
  for (const c of cases) {
    const req = { method: 'PUT', url: '/rest/V1/x?a=1', headers: c.headers, socket: { encrypted: c.encrypted } };
    assert.equal(authRequestOf(req).url, c.url);
  }
});
