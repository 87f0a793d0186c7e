/**
 * Where a fetch's time goes at depth: EXPLAIN (ANALYZE, BUFFERS) of the consumer's fetch statement
 * (pg-boss's fetch with the claim folded in, exactly as the consumer sends it) for each queue of a
 * schema left by `bench:depth --keep`, on a connection of the consumer's fetch pool, inside a transaction that is rolled back (nothing is
 * claimed). Queues with nothing to fetch are explained too: their fetch must cost an index probe.
 *
 *   npx node bench/depth-plans.ts <schema> <bossSchema> [batchSize=100] [queue…]
 */
import type { Db } from 'pg-boss';
import { createPool, ident } from '../src/db/pool.ts';
import { claimFold } from '../src/operations/claims.sql.ts';
import { createBoss } from '../src/queue/boss.ts';
import { foldedFetch } from '../src/queue/fetch-fold.ts';
import { fetchPool } from '../src/queue/fetch-plan.ts';

const schema = process.argv[2];
const bossSchema = process.argv[3];
if (!schema || !bossSchema) throw new Error('usage: bench/depth-plans.ts <schema> <bossSchema> [batchSize] [queue…]');
const batchSize = Number(process.argv[4] ?? 100);
const pool = createPool({ max: 2, applicationName: 'bench:depth-plans' });
const fetching = fetchPool(pool, 1);
const boss = await createBoss({
  connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  schema: bossSchema,
  max: 2,
});
try {
  const queues =
    process.argv.length > 5
      ? process.argv.slice(5)
      : (await boss.getQueues()).map((q) => q.name).filter((n) => n.startsWith('async.') && !n.includes('__'));
  const { rows: sizes } = await pool.query(
    `SELECT name, state, count(*)::int AS n FROM ${ident(bossSchema)}.job GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  console.log('jobs by queue and state:', sizes.map((r) => `${r.name} ${r.state} ${r.n}`).join('; '));
  for (const queue of queues) {
    // pg-boss builds the statement; we capture it instead of running it.
    let captured: { text: string; values: unknown[] } | undefined;
    const capture: Db = {
      async executeSql(text, values = []) {
        captured = { text, values };
        return { rows: [] };
      },
    };
    await boss.fetch(queue, { batchSize, db: capture });
    const { text, values } = captured!;
    const folded = foldedFetch(text, claimFold(schema)) ?? text;
    // On a connection of the consumer's fetch pool, so it is planned as the consumer's is.
    const client = await fetching.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${folded}`, values);
      console.log(`\n=== ${queue} (batch ${batchSize})`);
      console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }
} finally {
  await boss.stop({ graceful: false });
  await fetching.end();
  await pool.end();
}
