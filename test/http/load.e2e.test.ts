/**
 * Oversized and slow clients against a real server process (loopback only): a body that would take
 * the bytes in flight over their budget is refused at once with 503 + Retry-After (not a reset),
 * one over `maxBodyBytes` with 413, and a small request is still served meanwhile; once the holder
 * of the budget is answered, a big bulk is read, decoded and validated in full. Each step waits for
 * the answer it checks. How the server holds up under a sustained attack of such clients (its
 * memory against the bytes in flight, the small requests' rate) is bench/load.bench.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { createIntegrationToken } from '../../src/auth/index.ts';

const SERVE = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));
const MIB = 1024 * 1024;
const BULK = '/rest/default/async/bulk/V1/products';

let db: TestDatabase;
let child: ChildProcess;
let url: string;
let token: string;

before(async () => {
  db = await createTestDatabase('load');
  child = spawn(
    process.execPath,
    [
      SERVE,
      JSON.stringify({
        databaseUrl: db.url,
        overrides: {
          schema: db.schema,
          bossSchema: db.bossSchema,
          port: 0,
          cryptKey: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
          maxBodyBytes: 4 * MIB,
          // One 3 MiB body fits, two do not.
          maxAcceptBytesInFlight: 5 * MIB,
          maxConcurrentAccepts: 8,
          requestTimeoutSeconds: 300,
        },
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  token = (await createIntegrationToken(db.pool, db.schema, { name: 'load', resources: 'all' })).token;
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await db.drop();
});

/** A bulk of `items` valid products whose last element is invalid: fully decoded and validated, never written. */
function bulkBody(items: number): Buffer {
  const element = JSON.stringify({ product: { sku: 'x', name: 'n'.repeat(600), price: 1.5 } });
  return Buffer.from(`[${Array(items).fill(element).join(',')},{"product":{"sku":"x","wrong_attribute":1}}]`);
}

async function send(path: string, body: Buffer | string, method = 'POST'): Promise<Response> {
  const res = await fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  return res;
}

/**
 * A client on a socket of its own that declares `body`'s length and sends only its first byte,
 * holding the bytes the server reserves for it, until `finish()` sends the rest.
 */
function slowClient(body: Buffer) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  let text = '';
  const answered = new Promise<string>((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      // Headers and a body of the declared length: the whole answer.
      const end = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? NaN);
      if (end >= 0 && text.length >= end + 4 + length) resolve(text);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the connection closed after ${JSON.stringify(text)}`)));
  });
  socket.write(
    `POST ${BULK} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body.subarray(0, 1));
  return { answered, finish: () => socket.end(body.subarray(1)), close: () => socket.destroy() };
}

test('oversized and slow clients: over the bytes budget 503 + Retry-After, over the body limit 413, small requests still served', async () => {
  const big = bulkBody(4500); // ≈ 3 MiB
  const tooBig = bulkBody(7000); // ≈ 4.6 MiB, over maxBodyBytes
  assert.ok(big.length > 2.5 * MIB && big.length < 4 * MIB && tooBig.length > 4 * MIB);

  // Two slow clients declaring 3 MiB each: whichever the server reads second would take the bytes
  // in flight over 5 MiB, and is refused at once, before it sends its body.
  const first = slowClient(big);
  const second = slowClient(big);
  const refused = await Promise.race([
    first.answered.then((answer) => ({ answer, holder: second, other: first })),
    second.answered.then((answer) => ({ answer, holder: first, other: second })),
  ]);
  refused.other.close();
  assert.match(refused.answer, /^HTTP\/1\.1 503 /);
  assert.match(refused.answer, /\r\nretry-after: 1\r\n/i);

  // While the holder holds its 3 MiB: a whole big bulk is refused the same way, one over the body
  // limit gets 413 from its Content-Length, and a small request takes nothing of the budget.
  const busy = await send(BULK, big);
  assert.equal(busy.status, 503);
  assert.equal(busy.headers.get('retry-after'), '1');
  assert.equal((await send(BULK, tooBig)).status, 413);
  assert.equal((await send('/rest/default/async/V1/products/small', '{"product":{"price":1}}', 'PUT')).status, 202);

  // The holder sends the rest: decoded and validated in full (its last element is invalid: 400),
  // and its bytes are given back before its answer, so the next big bulk is read in full too.
  refused.holder.finish();
  assert.match(await refused.holder.answered, /^HTTP\/1\.1 400 /);
  assert.equal((await send(BULK, big)).status, 400);
  assert.equal((await send('/rest/default/async/V1/products/after', '{"product":{"price":1}}', 'PUT')).status, 202);
});
