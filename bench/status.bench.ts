/**
 * /status summary latency (`?operations=false`) for a 100,000-operation bulk vs a 10-operation
 * bulk in the same run: the counters make it O(1), so the ratio should be ≈ 1.
 * Also the worst case for "not started vs in progress": a 100,000-operation bulk in which nothing
 * has finished yet, where the EXISTS on a started open operation needs the partial index
 * `operation (bulk_uuid) WHERE status = 4 AND started_at IS NOT NULL` (measured without and with).
 *   npx node bench/status.bench.ts
 */
import { createTestDatabase } from '../test/support/db.ts';
import { ident, type Pool } from '../src/db/pool.ts';
import { signIn, startHarness } from '../test/status/helpers.ts';

/**
 * Inserts `n` operations in one statement: a bulk that size through the real accept and consumer
 * would take minutes, and only the status reads are measured here (tests never insert by hand).
 */
async function insertLargeBulk(pool: Pool, schema: string, uuid: string, n: number, status: number): Promise<void> {
  const s = ident(schema);
  await pool.query(
    `INSERT INTO ${s}.bulk (uuid, user_type, user_id, description, operation_count, store_id) VALUES ($1, 2, 1, 'Topic big', $2, 1)`,
    [uuid, n],
  );
  await pool.query(
    `INSERT INTO ${s}.operation (bulk_uuid, operation_key, topic_name, operation_id, serialized_data,
       result_serialized_data, status, result_message)
     SELECT $1, k, 'async.V1.products.POST', 'products.create', NULL, '{"sku":"sku-' || k || '","n":' || k || '}', $3,
       'Service execution success products.create'
     FROM generate_series(0, $2 - 1) AS k`,
    [uuid, n, status],
  );
}

const ROUNDS = 300;
const db = await createTestDatabase('status_bench');
const h = await startHarness(db.pool, db.schema);
h.as((await signIn(db.pool, db.schema)).admin);
const s = ident(db.schema);
try {
  const SMALL = '00000000-0000-4000-8000-00000000b010';
  const BIG = '00000000-0000-4000-8000-00000000b100';
  const IDLE = '00000000-0000-4000-8000-00000000b101';
  await insertLargeBulk(db.pool, db.schema, SMALL, 10, 4);
  await insertLargeBulk(db.pool, db.schema, BIG, 100_000, 4);
  await insertLargeBulk(db.pool, db.schema, IDLE, 100_000, 4);
  // In progress: half done in both, a few running.
  await db.pool.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1 AND operation_key < 5`, [SMALL]);
  await db.pool.query(`UPDATE ${s}.operation SET status = 1 WHERE bulk_uuid = $1 AND operation_key < 50000`, [BIG]);
  await db.pool.query(`VACUUM ANALYZE ${s}.operation`);
  await db.pool.query(`ANALYZE ${s}.bulk_counter`);

  async function median(uuid: string): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < ROUNDS + 20; i++) {
      const t = process.hrtime.bigint();
      const res = await fetch(`${h.url}/V1/bulk/${uuid}/status?operations=false`, { headers: h.headers() });
      await res.text();
      if (i >= 20) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  }
  // Interleave to share warm-up and noise.
  const small = await median(SMALL);
  const big = await median(BIG);
  const small2 = await median(SMALL);
  const idle = await median(IDLE);
  await db.pool.query(
    `CREATE INDEX operation_started_open_idx ON ${s}.operation (bulk_uuid) WHERE status = 4 AND started_at IS NOT NULL`,
  );
  await db.pool.query(`ANALYZE ${s}.operation`);
  const idleIndexed = await median(IDLE);
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  const smallMedian = (small + small2) / 2;
  console.log(`/status?operations=false median over ${ROUNDS} requests (HTTP round trip, local Postgres)`);
  console.log(`  10 operations, in progress:                 ${ms(smallMedian)}`);
  console.log(`  100,000 operations, in progress:            ${ms(big)}   ratio ${(big / smallMedian).toFixed(2)}`);
  console.log(`  100,000 operations, none finished (no idx): ${ms(idle)}   ratio ${(idle / smallMedian).toFixed(2)}`);
  console.log(
    `  100,000 operations, none finished (idx):    ${ms(idleIndexed)}   ratio ${(idleIndexed / smallMedian).toFixed(2)}`,
  );
} finally {
  await h.close();
  await db.drop();
}
