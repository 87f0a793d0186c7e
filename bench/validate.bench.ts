/**
 * What a validate-only request costs beside the accept of the same bulk, in the same run, on one
 * server with the catalog example loaded (so its checks run):
 *
 *   npx node bench/validate.bench.ts [rounds=12] [items=1000]
 *
 * - saves: POST /async/bulk/V1/products with `items` products (≈ 300 B each); the catalog's save
 *   check is pure JS (sku length, price).
 * - deletes: DELETE /async/bulk/V1/products/bySku with `items` skus that exist; the catalog's delete
 *   check reads the product: one SELECT per item, four items at a time, each worker on a read-only
 *   transaction of its own (one item after another on one transaction, as first written, measured
 *   7.0× accept at load average 30; four workers 2.9× in the same conditions).
 * - the cycle check: the accept of the saves on this server, whose catalog declares `requires` for
 *   product saves (accept reads each item's keys and looks for dependency cycles among them,
 *   docs/dependencies.md), against the same accept on a second server with no plugins.
 * Each round sends the bulk once each way (the order alternating), one request at a time; the
 * figures are medians of the per-request times and the ratio validate-only / accept. A validate-only
 * request does the accept's work up to its transaction (decoding, inputs, validation, data_hash),
 * then the plugins' checks instead of the writes.
 */
import { loadavg } from 'node:os';
import { startTestServer } from '../test/support/server.ts';
import { bulkBody } from './support/bodies.ts';

const ROUNDS = Number(process.argv[2] ?? 12);
const ITEMS = Number(process.argv[3] ?? 1000);
const loadAtStart = loadavg();

const server = await startTestServer('bench-validate', { plugins: { examples: ['catalog'] }, logLevel: 'silent' });
const plain = await startTestServer('bench-validate-plain', { logLevel: 'silent' });

async function send(
  method: string,
  path: string,
  body: string,
  expected: number,
  on: typeof server = server,
): Promise<number> {
  const started = performance.now();
  const res = await fetch(on.url + path, {
    method,
    headers: { Authorization: `Bearer ${on.token}`, 'Content-Type': 'application/json' },
    body,
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  if (text.includes('"rejected"')) throw new Error(`${method} ${path}: an item was rejected: ${text.slice(0, 300)}`);
  return performance.now() - started;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Case {
  name: string;
  method: string;
  path: string;
  body: string;
}

const saves = bulkBody(ITEMS);
const skus = (JSON.parse(saves) as { product: { sku: string } }[]).map((p) => ({ sku: p.product.sku }));
const cases: Case[] = [
  { name: 'saves', method: 'POST', path: '/rest/default/async/bulk/V1/products', body: saves },
  { name: 'deletes', method: 'DELETE', path: '/rest/default/async/bulk/V1/products/bySku', body: JSON.stringify(skus) },
];

// The deletes' checks need the products: saved as the catalog saves them, straight into its table.
await server.db.pool.query(
  `INSERT INTO ${server.db.schema}__magento_catalog.catalog_product (sku) SELECT unnest($1::text[])`,
  [skus.map((s) => s.sku)],
);

try {
  // Warm-up: both paths, both cases.
  for (const c of cases) {
    await send(c.method, c.path, c.body, 202);
    await send(c.method, `${c.path}?validateOnly=true`, c.body, 200);
  }
  console.log(
    `validate-only vs accept of the same ${ITEMS}-item bulk, ${ROUNDS} rounds, one request at a time, load average at start ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`,
  );
  console.log(
    'case      accept ms (median)   validate-only ms (median)   ratio validate/accept   per-round ratios (min–max)',
  );
  for (const c of cases) {
    const accept: number[] = [];
    const validate: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sides = [
        async () => accept.push(await send(c.method, c.path, c.body, 202)),
        async () => validate.push(await send(c.method, `${c.path}?validateOnly=true`, c.body, 200)),
      ];
      if (round % 2) sides.reverse();
      for (const side of sides) await side();
    }
    const ratios = accept.map((a, i) => validate[i]! / a);
    console.log(
      `${c.name.padEnd(9)} ${median(accept).toFixed(1).padStart(17)} ${median(validate).toFixed(1).padStart(27)} ${(median(validate) / median(accept)).toFixed(2).padStart(23)}×   ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
    );
  }
  const saved = cases[0]!;
  await send(saved.method, saved.path, saved.body, 202, plain);
  const checked: number[] = [];
  const unchecked: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const sides = [
      async () => checked.push(await send(saved.method, saved.path, saved.body, 202)),
      async () => unchecked.push(await send(saved.method, saved.path, saved.body, 202, plain)),
    ];
    if (round % 2) sides.reverse();
    for (const side of sides) await side();
  }
  console.log(
    `cycle check: accept of the saves with the catalog's requires ${median(checked).toFixed(1)} ms, without plugins ${median(unchecked).toFixed(1)} ms (medians): ${(median(checked) / median(unchecked)).toFixed(2)}×`,
  );
  console.log(
    `load average at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await server.stop();
  await plain.stop();
}
