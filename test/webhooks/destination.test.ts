/**
 * Where a webhook may go, by classification only: hostile addresses and URLs are classified here
 * and never connected to (test/webhooks/webhooks.e2e.test.ts sends to loopback in disguise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAddress, refusal, resolveDestination, type AddressClass } from '../../src/webhooks/destination.ts';

const CLASSES: Record<AddressClass, string[]> = {
  public: ['93.184.216.34', '8.8.8.8', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:8.8.8.8', '64:ff9b::808:808'],
  loopback: [
    '127.0.0.1',
    '127.255.255.254',
    '::1',
    '::ffff:127.0.0.1', // IPv4-mapped
    '::ffff:7f00:1', // the same, as URL parsing writes it
    '::ffff:0:7f00:1', // IPv4-translated (RFC 6145)
    '64:ff9b::7f00:1', // NAT64 well-known prefix
    '64:ff9b::127.0.0.1',
    '2002:7f00:1::1', // 6to4
  ],
  private: [
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1', // carrier-grade NAT
    'fc00::1',
    'fd12:3456:789a::1', // unique local
    '::ffff:10.0.0.1',
    '::ffff:c0a8:101',
    '64:ff9b::a00:1',
    '64:ff9b:1::a00:1', // NAT64 local-use prefix (RFC 8215)
    '2002:c0a8:101::1',
  ],
  special: [
    '169.254.169.254', // link-local: the cloud metadata service
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a9fe:a9fe',
    'fd00:ec2::254', // AWS metadata over IPv6, inside the unique-local range
    '100.100.100.200', // Alibaba Cloud metadata, inside carrier-grade NAT
    'fe80::1',
    '0.0.0.0',
    '::',
    '::ffff:0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    'ff02::1',
    '192.0.2.1',
    '2001:db8::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
    '240.0.0.1',
  ],
};

for (const [expected, addresses] of Object.entries(CLASSES)) {
  test(`${expected} addresses`, () => {
    for (const address of addresses) assert.equal(classifyAddress(address).class, expected, address);
  });
}

test('refusal: loopback and private only when allowed; link-local, metadata and the rest never', () => {
  const off = { allowLoopback: false, allowPrivate: false };
  const on = { allowLoopback: true, allowPrivate: true };
  assert.equal(refusal('93.184.216.34', off), null);
  assert.equal(
    refusal('::ffff:7f00:1', off),
    'a loopback address (ipv4Mapped of loopback), refused unless webhooks.allowLoopback',
  );
  assert.equal(refusal('::ffff:7f00:1', { allowLoopback: true, allowPrivate: false }), null);
  assert.equal(
    refusal('10.1.2.3', { allowLoopback: true, allowPrivate: false }),
    'a private address (private), refused unless webhooks.allowPrivate',
  );
  assert.equal(refusal('10.1.2.3', { allowLoopback: false, allowPrivate: true }), null);
  for (const address of CLASSES.special) assert.notEqual(refusal(address, on), null, address);
});

test('URLs with loopback, private and metadata hosts in disguise are refused without any DNS lookup or connection', async () => {
  const hostile = [
    'http://127.1/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://0/',
    'http://[::]/',
    'http://0xa9fea9fe/',
    'http://[fd00:ec2::254]/',
    'http://192.168.0.1/',
    'http://[fd00::1]/',
  ];
  for (const raw of hostile) {
    const result = await resolveDestination(new URL(raw), { allowLoopback: false, allowPrivate: false });
    assert.ok('refused' in result, `${raw} was let through`);
  }
  const mapped = await resolveDestination(new URL('http://[::ffff:127.0.0.1]:8080/'), {
    allowLoopback: true,
    allowPrivate: false,
  });
  assert.deepEqual(mapped, { address: '::ffff:7f00:1', family: 6 });
});
