/**
 * Completion webhooks end to end: a bulk accepted with `X-Callback-Url` is POSTed to a local
 * receiver once it is finished, signed as docs/webhooks.md says, retried with backoff while the
 * receiver answers 500, every attempt recorded and shown by GET /V1/bulk/:uuid/webhook; URLs the
 * configuration does not allow are refused at accept, and loopback only when configured.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, TEST_CRYPT_KEY, type TestServer } from '../support/server.ts';
import { CART_BULK_PATH, cartItems, Gate, startCartConsumer, type CartConsumer } from '../support/cart-consumer.ts';
import { waitFor } from '../support/wait.ts';
import { TEST_LOCATIONS, TEST_PROJECT } from '../support/project.ts';
import { ident } from '../../src/db/pool.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { verify } from '../../src/webhooks/signature.ts';

const SECRET = 'whsec-test-0123456789';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

interface Receiver {
  url: string;
  received: Received[];
  /** Resolves once `n` requests have arrived; fails after `ms`. */
  receivedCount(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** A receiver answering the given statuses in turn (the last one from then on). */
async function receiver(statuses: number[]): Promise<Receiver> {
  const received: Received[] = [];
  const arrived = new EventEmitter();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      res.writeHead(statuses[Math.min(received.length - 1, statuses.length - 1)]!).end();
      arrived.emit('request');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/bulk`,
    received,
    async receivedCount(n, ms = 30_000) {
      const signal = AbortSignal.timeout(ms);
      try {
        while (received.length < n) await once(arrived, 'request', { signal });
      } catch (error) {
        if (!signal.aborted) throw error;
        assert.fail(`${received.length} of ${n} webhooks arrived within ${ms} ms`);
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const found = await waitFor(
    async () => {
      const v = await fn();
      return v === undefined ? undefined : { v };
    },
    ms,
    what,
  );
  return found.v;
}

const webhooks = { secret: SECRET, allow: ['127.0.0.1'], allowLoopback: true, retryBaseMs: 150, pollMs: 50 };

let server: TestServer;
let cart: CartConsumer;
before(async () => {
  server = await startTestServer('webhooks', { webhooks: { ...webhooks, maxAttempts: 4 } });
  cart = await startCartConsumer(server, { delayMs: 0, failing: true });
});
after(async () => {
  await cart?.stop();
  await server?.stop();
});

test('a finished bulk is POSTed, signed with HMAC-SHA256 over timestamp.body, retried after 500s, each attempt recorded', async () => {
  const hook = await receiver([500, 500, 204]);
  try {
    const accepted = await server.request('POST', CART_BULK_PATH, {
      body: cartItems(['a1', 'fail-1']),
      headers: { 'X-Callback-Url': hook.url },
    });
    assert.equal(accepted.status, 202, accepted.text);
    const uuid: string = accepted.json.bulk_uuid;
    await until('three deliveries', () => (hook.received.length >= 3 ? true : undefined));

    for (const r of hook.received) {
      // The documented scheme, computed here independently of src/webhooks/signature.ts.
      const timestamp = r.headers['x-magento-async-timestamp'] as string;
      const expected = 'v1=' + createHmac('sha256', SECRET).update(`${timestamp}.${r.body}`).digest('hex');
      assert.equal(r.headers['x-magento-async-signature'], expected);
      assert.ok(Math.abs(Date.now() / 1000 - Number(timestamp)) < 60);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['x-magento-async-event'], 'bulk.finished');
      const payload = JSON.parse(r.body);
      assert.equal(payload.bulk_uuid, uuid);
      assert.equal(payload.bulk_status, 3, 'finished with a failure');
      assert.deepEqual(payload.operation_counts, {
        complete: 1,
        retriably_failed: 0,
        not_retriably_failed: 1,
        open: 0,
        rejected: 0,
      });
      assert.ok(verify(SECRET, { signature: expected, timestamp }, r.body), 'our verify() agrees');
      assert.ok(!verify('other-secret', { signature: expected, timestamp }, r.body));
      assert.ok(!verify(SECRET, { signature: expected, timestamp }, r.body + ' '), 'a changed body fails');
    }
    assert.deepEqual(
      hook.received.map((r) => r.headers['x-magento-async-delivery']),
      [`${uuid}/1`, `${uuid}/2`, `${uuid}/3`],
    );
    // Backoff: the second wait is about twice the first (150 ms, then 300 ms, plus the sweep).
    const gaps = [hook.received[1]!.at - hook.received[0]!.at, hook.received[2]!.at - hook.received[1]!.at];
    assert.ok(gaps[0]! >= 140, `first retry after ${gaps[0]} ms`);
    assert.ok(gaps[1]! >= 290, `second retry after ${gaps[1]} ms`);

    const shown = await until('the delivered state', async () => {
      const res = await server.request('GET', `/rest/V1/bulk/${uuid}/webhook`);
      return res.json?.state === 'delivered' ? res.json : undefined;
    });
    assert.equal(shown.url, hook.url);
    assert.equal(shown.attempts, 3);
    assert.deepEqual(
      shown.deliveries.map((d: { attempt: number; http_status: number }) => [d.attempt, d.http_status]),
      [
        [1, 500],
        [2, 500],
        [3, 204],
      ],
    );
    // A sweep that starts after the delivery is what would send again: two in a row (the first
    // may be one already running), then nothing more has come.
    await server.webhooks!.sweep();
    await server.webhooks!.sweep();
    assert.equal(hook.received.length, 3, 'nothing is sent after a 2xx');
  } finally {
    await hook.close();
  }
});

test('after maxAttempts failures the webhook is given up and says so', async () => {
  const hook = await receiver([500]);
  try {
    const accepted = await server.request('POST', CART_BULK_PATH, {
      body: cartItems(['b1']),
      headers: { 'X-Callback-Url': hook.url },
    });
    const uuid: string = accepted.json.bulk_uuid;
    const shown = await until('the failed state', async () => {
      const res = await server.request('GET', `/rest/V1/bulk/${uuid}/webhook`);
      return res.json?.state === 'failed' ? res.json : undefined;
    });
    assert.equal(shown.attempts, 4);
    assert.equal(hook.received.length, 4);
  } finally {
    await hook.close();
  }
});

test('X-Callback-Url outside the allow-list, malformed, or on a server without webhooks: Magento-format 400', async () => {
  const invalid = 'The X-Callback-Url "%url" is invalid: %reason';
  const cases: { url: string; message: string; parameters: Record<string, string> }[] = [
    {
      url: 'http://hooks.example.org/x',
      message: 'The X-Callback-Url "%url" is not an allowed webhook destination.',
      parameters: { url: 'http://hooks.example.org/x' },
    },
    { url: 'not a url', message: invalid, parameters: { url: 'not a url', reason: 'not an absolute URL' } },
    {
      url: 'ftp://127.0.0.1/x',
      message: invalid,
      parameters: { url: 'ftp://127.0.0.1/x', reason: 'only http and https are supported' },
    },
    {
      // The credentials are not echoed back.
      url: 'http://user:pw@127.0.0.1/x',
      message: invalid,
      parameters: { url: 'http://127.0.0.1', reason: 'credentials in the URL' },
    },
  ];
  for (const c of cases) {
    const res = await server.request('POST', CART_BULK_PATH, {
      body: cartItems(['c1']),
      headers: { 'X-Callback-Url': c.url },
    });
    assert.equal(res.status, 400, c.url);
    assert.deepEqual(
      { message: res.json.message, parameters: res.json.parameters },
      { message: c.message, parameters: c.parameters },
      c.url,
    );
    assert.doesNotMatch(res.text, /at .*\.ts:\d+/, 'no stack trace');
  }
  const off = await startTestServer('webhooks-off');
  try {
    const res = await off.request('POST', CART_BULK_PATH, {
      body: cartItems(['c1']),
      headers: { 'X-Callback-Url': 'http://127.0.0.1:1/x' },
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.message, 'Completion webhooks are not enabled on this server.');
  } finally {
    await off.stop();
  }
});

test('an allowed host name that resolves to loopback is refused unless allowLoopback, and the refusal is recorded', async () => {
  const hook = await receiver([204]);
  const strict = await startTestServer('webhooks-strict', {
    webhooks: { ...webhooks, allow: ['localhost'], allowLoopback: false },
  });
  const strictCart = await startCartConsumer(strict, { delayMs: 0, failing: false });
  try {
    const url = hook.url.replace('127.0.0.1', 'localhost');
    const accepted = await strict.request('POST', CART_BULK_PATH, {
      body: cartItems(['d1']),
      headers: { 'X-Callback-Url': url },
    });
    assert.equal(accepted.status, 202, accepted.text);
    const shown = await until('the refusal', async () => {
      const res = await strict.request('GET', `/rest/V1/bulk/${accepted.json.bulk_uuid}/webhook`);
      return res.json?.state === 'failed' ? res.json : undefined;
    });
    assert.match(
      shown.deliveries[0].error,
      /^destination refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address \(loopback\), refused unless webhooks\.allowLoopback$/,
    );
    assert.equal(hook.received.length, 0);
  } finally {
    await strictCart.stop();
    await strict.stop();
    await hook.close();
  }
});

test('loopback in disguise (IPv4-mapped, short, hex, decimal), on the allow-list, is refused with allowLoopback off', async () => {
  const hook = await receiver([204]);
  const port = new URL(hook.url).port;
  const disguises = [
    `http://[::ffff:127.0.0.1]:${port}`,
    `http://127.1:${port}`,
    `http://0x7f000001:${port}`,
    `http://2130706433:${port}`,
  ];
  const strict = await startTestServer('webhooks-disguise', {
    webhooks: { ...webhooks, allow: disguises, allowLoopback: false },
  });
  const strictCart = await startCartConsumer(strict, { delayMs: 0, failing: false });
  try {
    for (const origin of disguises) {
      const accepted = await strict.request('POST', CART_BULK_PATH, {
        body: cartItems(['d1']),
        headers: { 'X-Callback-Url': `${origin}/hooks/bulk` },
      });
      assert.equal(accepted.status, 202, accepted.text);
      const shown = await until(`the refusal of ${origin}`, async () => {
        const res = await strict.request('GET', `/rest/V1/bulk/${accepted.json.bulk_uuid}/webhook`);
        return res.json?.state === 'failed' ? res.json : undefined;
      });
      assert.match(
        shown.deliveries[0].error,
        /^destination refused: .* a loopback address .*refused unless webhooks\.allowLoopback$/,
        origin,
      );
    }
    assert.deepEqual(hook.received, [], 'the receiver on 127.0.0.1 heard nothing');
  } finally {
    await strictCart.stop();
    await strict.stop();
    await hook.close();
  }
});

test('a bulk that finished while no server ran gets its webhook from the next server that starts', async () => {
  const hook = await receiver([200]);
  // The first server accepts, then goes away before the bulk finishes (the consumer holds it).
  const gate = new Gate();
  cart.steering.gate = gate;
  const accepted = await server.request('POST', CART_BULK_PATH, {
    body: cartItems(['e1']),
    headers: { 'X-Callback-Url': hook.url },
  });
  const uuid: string = accepted.json.bulk_uuid;
  await waitFor(() => gate.waiting === 1, 15_000, 'the consumer to hold the operation');
  await server.webhooks!.stop();
  gate.open();
  try {
    await until('the bulk to finish', async () => {
      const res = await server.request('GET', `/rest/V1/bulk/${uuid}/status?operations=false`);
      return res.json.bulk_status >= 2 ? true : undefined;
    });
    // Any sender claims the webhook (attempts + 1) before it posts: the claim is what would have happened.
    const { rows: claims } = await server.db.pool.query<{ attempts: number; state: string }>(
      `SELECT attempts, state FROM ${ident(server.db.schema)}.bulk_webhook WHERE bulk_uuid = $1`,
      [uuid],
    );
    assert.deepEqual(claims, [{ attempts: 0, state: 'pending' }], 'nobody claimed it');
    assert.equal(hook.received.length, 0, 'nobody was sending');
    const config = loadConfig({
      env: { DATABASE_URL: server.db.url },
      cwd: TEST_PROJECT,
      overrides: {
        ...TEST_LOCATIONS,
        schema: server.db.schema,
        bossSchema: server.db.bossSchema,
        port: 0,
        logLevel: 'silent',
        cryptKey: TEST_CRYPT_KEY,
        webhooks,
      },
    });
    const second = await startServer({ config, artifacts: server.artifacts });
    try {
      await until('the late delivery', () => (hook.received.length === 1 ? true : undefined));
      assert.equal(JSON.parse(hook.received[0]!.body).bulk_uuid, uuid);
    } finally {
      await second.close();
    }
  } finally {
    gate.open();
    cart.steering.gate = undefined;
    await hook.close();
  }
});

test('an integration configured with a URL gets its webhook without the header; a URL off the allow-list fails the start', async () => {
  const hook = await receiver([204]);
  // The test server's token is the integration named "test".
  const configured = await startTestServer('webhooks-integration', {
    webhooks: { ...webhooks, integrations: { test: hook.url } },
  });
  const configuredCart = await startCartConsumer(configured, { delayMs: 0, failing: false });
  try {
    const accepted = await configured.request('POST', CART_BULK_PATH, { body: cartItems(['f1']) });
    assert.equal(accepted.status, 202, accepted.text);
    await until('the delivery', () => (hook.received.length === 1 ? true : undefined));
    assert.equal(JSON.parse(hook.received[0]!.body).bulk_uuid, accepted.json.bulk_uuid);
  } finally {
    await configuredCart.stop();
    await configured.stop();
    await hook.close();
  }
  const cases = [
    {
      webhooks: { ...webhooks, integrations: { erp: 'https://elsewhere.example.net/x' } },
      message: /not on "webhooks.allow"/,
    },
    { webhooks: { integrations: { erp: 'http://127.0.0.1/x' } }, message: /set "webhooks.secret"/ },
  ];
  for (const c of cases) {
    const config = loadConfig({
      env: { DATABASE_URL: server.db.url },
      cwd: TEST_PROJECT,
      overrides: {
        ...TEST_LOCATIONS,
        schema: server.db.schema,
        bossSchema: server.db.bossSchema,
        port: 0,
        logLevel: 'silent',
        webhooks: c.webhooks,
      },
    });
    await assert.rejects(startServer({ config, artifacts: server.artifacts }), c.message);
  }
});

test('a finished bulk gets its webhook at once, however many unfinished bulks wait with one', async () => {
  const hook = await receiver([204]);
  // More waiting bulks than one sweep claims (50): they once filled every sweep and were skipped.
  const WAITING = 60;
  const gate = new Gate();
  const busy = await startTestServer('webhooks-waiting', { webhooks });
  const busyCart = await startCartConsumer(busy, { delayMs: 0, failing: false, gate });
  try {
    const waiting: string[] = [];
    for (let i = 0; i < WAITING; i++) {
      const accepted = await busy.request('POST', CART_BULK_PATH, {
        body: cartItems([`w${i}`]),
        headers: { 'X-Callback-Url': hook.url },
      });
      assert.equal(accepted.status, 202, accepted.text);
      waiting.push(accepted.json.bulk_uuid);
    }
    // A product bulk, run (and failed: the checkout's products stub) at once by the consumer
    // while the gate holds every cart operation.
    const product = await busy.request('POST', '/rest/default/async/bulk/V1/products', {
      body: [{ product: { sku: 'hook-1', name: 'Hook', price: 1, attribute_set_id: 4 } }],
      headers: { 'X-Callback-Url': hook.url },
    });
    assert.equal(product.status, 202, product.text);
    await hook.receivedCount(1);
    assert.equal(JSON.parse(hook.received[0]!.body).bulk_uuid, product.json.bulk_uuid);

    // The waiting ones finish together: more than one claim's worth, each sent once.
    gate.open();
    await hook.receivedCount(WAITING + 1);
    const sent = hook.received.slice(1).map((r) => JSON.parse(r.body) as { bulk_uuid: string; bulk_status: number });
    assert.deepEqual(sent.map((b) => b.bulk_uuid).sort(), [...waiting].sort());
    assert.ok(sent.every((b) => b.bulk_status === 2));
  } finally {
    gate.open();
    await busyCart.stop();
    await busy.stop();
    await hook.close();
  }
});
