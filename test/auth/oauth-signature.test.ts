import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import OAuth from 'oauth-1.0a';
import {
  baseStringUri,
  hmacSignature,
  normaliseParameters,
  percentEncode,
  signatureBaseString,
  strnatcmp,
  type Parameter,
  type SignatureMethod,
} from '../../src/auth/oauth-signature.ts';
import { oauthRequestParameters } from '../../src/auth/oauth-request.ts';

test('RFC 5849 §1.2: the photos example signs to its published signature', () => {
  const header =
    'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", ' +
    'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", ' +
    'oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"';
  const url = 'http://photos.example.net/photos?file=vacation.jpg&size=original';
  const params = oauthRequestParameters({ method: 'GET', url, authorization: header })!;
  assert.equal(params.has('realm'), false, 'realm is not a signed parameter');
  const base = signatureBaseString('GET', url, params, 'magento');
  assert.equal(
    base,
    'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03' +
      '%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202' +
      '%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal',
  );
  assert.equal(hmacSignature('HMAC-SHA1', base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00'), params.get('oauth_signature'));
});

test('RFC 5849 §3.4.1.1: base string with repeated names, encoded values and empty values', () => {
  // Query b5="=%3D", a3="a", c@="", a2="r b"; form body c2="", a3="2 q"; and the header's parameters.
  const pairs: Parameter[] = [
    ['b5', '=%3D'],
    ['a3', 'a'],
    ['c@', ''],
    ['a2', 'r b'],
    ['oauth_consumer_key', '9djdj82h48djs9d2'],
    ['oauth_token', 'kkk9d7dh3k39sjv7'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '137131201'],
    ['oauth_nonce', '7d8f3e4a'],
    ['oauth_signature', 'bYT5CMsGcbgUdFHObYMEfcx6bsw='],
    ['c2', ''],
    ['a3', '2 q'],
  ];
  assert.equal(
    signatureBaseString('POST', 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b', pairs, 'rfc5849'),
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D' +
      '%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a' +
      '%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
  );
});

test('RFC 5849 §3.4.1.2: base string URI', () => {
  const cases = [
    ['HTTP://EXAMPLE.COM:80/r%20v/X?id=123', 'http://example.com/r%20v/X'],
    ['https://www.example.net:8080/?q=1', 'https://www.example.net:8080/'],
    ['https://example.com:443/a#frag', 'https://example.com/a'],
  ];
  for (const [url, expected] of cases) assert.equal(baseStringUri(url!), expected, url);
  assert.throws(() => baseStringUri('ftp://example.com/'), /HTTP or HTTPS/);
});

test('RFC 5849 §3.6: percent-encoding leaves only unreserved characters', () => {
  assert.equal(percentEncode("a-._~ !*'()+/=&%é"), 'a-._~%20%21%2A%27%28%29%2B%2F%3D%26%25%C3%A9');
});

test('HMAC-SHA256 uses the same key as HMAC-SHA1, with SHA-256', () => {
  const expected = createHmac('sha256', 'c%26s&t%20s').update('base').digest('base64');
  assert.equal(hmacSignature('HMAC-SHA256', 'base', 'c&s', 't s'), expected);
});

const STRNATCMP_CASES: [string, string][] = [
  ['a2', 'a10'],
  ['a10', 'a2'],
  ['x[filters][10]', 'x[filters][2]'],
  ['img12', 'img12'],
  ['001', '1'],
  ['a01', 'a1'],
  ['a01', 'a001'],
  ['1.5', '1.10'],
  ['abc', 'abd'],
  ['ab', 'abc'],
  ['a 1', 'a1'],
  ['', 'a'],
  ['oauth_nonce', 'oauth_consumer_key'],
  ['x0010', 'x9'],
];

test('strnatcmp orders as PHP natural order', () => {
  // Checked against PHP 8.2 (the next test repeats that check wherever php-cli is installed).
  const expected = [-1, 1, 1, 0, 0, -1, 1, -1, -1, -1, 0, -1, 1, -1];
  assert.deepEqual(
    STRNATCMP_CASES.map(([a, b]) => strnatcmp(a, b)),
    expected,
  );
});

test('strnatcmp agrees with PHP itself', (t) => {
  let php: string;
  try {
    const script = `foreach (json_decode(stream_get_contents(STDIN)) as [$a, $b]) echo strnatcmp($a, $b) <=> 0, "\\n";`;
    php = execFileSync('php', ['-r', script], { input: JSON.stringify(STRNATCMP_CASES), encoding: 'utf8' });
  } catch {
    t.skip('php-cli is not installed (apt-get install php-cli)');
    return;
  }
  assert.deepEqual(
    STRNATCMP_CASES.map(([a, b]) => strnatcmp(a, b)),
    php.trim().split('\n').map(Number),
  );
});

test('Magento orders names naturally and keeps the last of a repeated name', () => {
  const pairs: Parameter[] = [
    ['f[10]', 'x'],
    ['f[2]', 'y'],
    ['a', '1'],
    ['a', '2'],
  ];
  assert.equal(normaliseParameters(pairs, 'magento'), 'a=2&f%5B2%5D=y&f%5B10%5D=x');
  assert.equal(normaliseParameters(pairs, 'rfc5849'), 'a=1&a=2&f%5B10%5D=x&f%5B2%5D=y');
});

// The `oauth-1.0a` package is an independent signer (and the one magento-api-rest uses).
const SIGNER_CASES: { name: string; method: string; url: string; sha: SignatureMethod }[] = [
  { name: 'bulk POST', method: 'POST', url: 'http://127.0.0.1:8080/rest/async/bulk/V1/products', sha: 'HMAC-SHA1' },
  {
    name: 'async PUT, SHA-256',
    method: 'PUT',
    url: 'http://127.0.0.1:8080/rest/default/async/V1/products/24-MB01',
    sha: 'HMAC-SHA256',
  },
  {
    name: 'search criteria with brackets',
    method: 'GET',
    url:
      'http://shop.test/rest/V1/bulk?searchCriteria[filter_groups][0][filters][0][field]=status' +
      '&searchCriteria[filter_groups][0][filters][0][value]=4&searchCriteria[pageSize]=20',
    sha: 'HMAC-SHA1',
  },
  {
    name: 'empty value and unicode',
    method: 'GET',
    url: 'https://shop.test/rest/V1/x?searchCriteria=&q=%C3%A9t%C3%A9%20~',
    sha: 'HMAC-SHA256',
  },
];

test('signatures agree with the oauth-1.0a package', async (t) => {
  for (const c of SIGNER_CASES) {
    await t.test(c.name, () => {
      const oauth = new OAuth({
        consumer: { key: 'ck'.repeat(16), secret: 'consumer secret&' },
        signature_method: c.sha,
        hash_function: (base, key) =>
          createHmac(c.sha === 'HMAC-SHA256' ? 'sha256' : 'sha1', key)
            .update(base)
            .digest('base64'),
      });
      const signed = oauth.authorize(
        { method: c.method, url: c.url },
        { key: 'tk'.repeat(16), secret: 'token~secret' },
      );
      const header = oauth.toHeader(signed).Authorization;
      const params = oauthRequestParameters({ method: c.method, url: c.url, authorization: header })!;
      const base = signatureBaseString(c.method, c.url, params, 'magento');
      assert.equal(hmacSignature(c.sha, base, 'consumer secret&', 'token~secret'), signed.oauth_signature);
    });
  }
});
