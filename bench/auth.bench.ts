/**
 * What OAuth 1.0a costs on the accept path, beside its same-run baseline: concurrent clients PUT
 * /async/V1/products/<sku> against a running server and real Postgres, signed with OAuth 1.0a
 * (HMAC-SHA256: a signature check and one nonce INSERT per request) or sent with a bearer token
 * (a cached lookup). Phases run bearer, OAuth, OAuth, bearer so warm-up and table growth hit both
 * alike. The client signs with the `oauth-1.0a` package in this process, so the OAuth figure also
 * carries the client's signing cost on the shared cores. Uses its own schema, dropped at the end.
 *
 *   npx node bench/auth.bench.ts [seconds-per-phase=4] [clients=16]
 */
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { startTestServer, TEST_CRYPT_KEY } from '../test/support/server.ts';
import { createEncryptor } from '../src/auth/encryptor.ts';
import { createIntegration } from '../src/auth/integrations.ts';

const SECONDS = Number(process.argv[2] ?? 4);
const CLIENTS = Number(process.argv[3] ?? 16);

const server = await startTestServer('bench_auth');
try {
  const erp = await createIntegration(server.db.pool, server.db.schema, createEncryptor(TEST_CRYPT_KEY), {
    name: 'bench',
    resources: 'all',
  });
  const oauth = new OAuth({
    consumer: { key: erp.consumerKey, secret: erp.consumerSecret },
    signature_method: 'HMAC-SHA256',
    hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
  });
  const token = { key: erp.accessToken, secret: erp.accessTokenSecret };
  const body = JSON.stringify({ product: { price: 29 } });

  const phase = async (kind: 'bearer' | 'oauth'): Promise<number> => {
    let done = 0;
    let sku = 0;
    const end = Date.now() + SECONDS * 1000;
    const client = async () => {
      while (Date.now() < end) {
        const url = `${server.url}/rest/async/V1/products/BENCH-${sku++ % 256}`;
        const authorization =
          kind === 'bearer'
            ? `Bearer ${server.token}`
            : oauth.toHeader(oauth.authorize({ method: 'PUT', url }, token)).Authorization;
        const res = await fetch(url, {
          method: 'PUT',
          headers: { Authorization: authorization, 'Content-Type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`${kind}: status ${res.status}`);
        done++;
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    return done / SECONDS;
  };

  await phase('bearer'); // warm-up, not counted
  const rates = { bearer: [] as number[], oauth: [] as number[] };
  for (const kind of ['bearer', 'oauth', 'oauth', 'bearer'] as const) rates[kind].push(await phase(kind));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const bearer = mean(rates.bearer);
  const signed = mean(rates.oauth);
  console.log(`single-item async PUT, ${CLIENTS} clients, ${SECONDS} s per phase`);
  console.log(
    `  bearer token (baseline): ${bearer.toFixed(0)} req/s  [${rates.bearer.map((r) => r.toFixed(0)).join(', ')}]`,
  );
  console.log(
    `  OAuth 1.0a HMAC-SHA256:  ${signed.toFixed(0)} req/s  [${rates.oauth.map((r) => r.toFixed(0)).join(', ')}]`,
  );
  console.log(`  ratio OAuth / bearer:    ${(signed / bearer).toFixed(2)}`);
} finally {
  await server.stop();
}
