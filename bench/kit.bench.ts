/**
 * What a plugin author's test pays for the test kit: one operation through the whole path (HTTP
 * accept, queue, consumer, interceptors, the handler's transaction, the status API) against the
 * same handler called directly in a transaction of its own, as the helpers under test/ used to,
 * in the same run. Also the kit's start (routes of the sample spec, migrations, server, consumer).
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx node bench/kit.bench.ts
 */
import { createPool, databaseUrl, ident } from '../src/db/pool.ts';
import type { HandlerContext } from '../src/plugin.ts';
import { definePlugin, startTestKit } from '../src/testing/index.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 60);

const plugin = definePlugin({
  name: 'Bench_Kit',
  compatibility: '^1.0.0',
  handlers: {
    async PutV1ProductsSku(args: { sku: string; product: { price?: number } }, ctx: HandlerContext) {
      await ctx.tx.query('INSERT INTO bench_kit_price (sku, price) VALUES ($1, $2)', [args.sku, args.product.price]);
      return { sku: args.sku };
    },
  },
});
const module = {
  default: plugin,
  migrations: ['CREATE TABLE IF NOT EXISTS bench_kit_price (sku text, price numeric)'],
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

process.env.DATABASE_URL ??= databaseUrl();
const started = performance.now();
const kit = await startTestKit({ plugins: [module], name: 'bench' });
const startMs = performance.now() - started;
const pool = createPool({ connectionString: process.env.DATABASE_URL, max: 2 });
try {
  const through: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < ROUNDS + 5; i++) {
    let t = performance.now();
    const outcome = await kit.run('PutV1ProductsSku', { sku: `K-${i}`, product: { price: i } });
    if (outcome.status !== 1) throw new Error(`operation failed: ${outcome.message}`);
    if (i >= 5) through.push(performance.now() - t);

    t = performance.now();
    const client = await pool.connect();
    try {
      await client.query(`BEGIN; SET LOCAL search_path TO ${ident(kit.schema)}, public`);
      const ctx = {
        store: { id: 1, code: null, explicit: false },
        tx: client,
        operation: { bulkUuid: '', key: 0, topic: '', operationId: 'PutV1ProductsSku', attempt: 1, idempotencyKey: '' },
        signal: new AbortController().signal,
        log: console,
      } as unknown as HandlerContext;
      await plugin.handlers!.PutV1ProductsSku!({ sku: `D-${i}`, product: { price: i } }, ctx);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    if (i >= 5) direct.push(performance.now() - t);
  }
  const k = median(through);
  const d = median(direct);
  console.log(`kit start (sample spec, ${kit.routes.length} routes): ${startMs.toFixed(0)} ms`);
  console.log(`kit.run, median of ${ROUNDS}: ${k.toFixed(2)} ms per operation`);
  console.log(`baseline: handler called directly in its own transaction: ${d.toFixed(2)} ms`);
  console.log(`ratio ${(k / d).toFixed(1)}x`);
} finally {
  await pool.end();
  await kit.close();
}
