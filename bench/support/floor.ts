/**
 * The raw-SQL floor of a bulk accept: the same rows the accept statement writes (one bulk row,
 * `items` operation rows with a realistic serialized_data, `items` pg-boss jobs) with the same one
 * statement (`insertAccepted`, prepared, pg-boss's own job insert embedded, its own transaction),
 * with no HTTP, no parsing, no validation and no hashing (serialized_data is built once, job ids
 * are computed per bulk as the accept does). The floor is the cheapest way we know to write these
 * rows, so the ratio to it measures everything the HTTP path adds, not the SQL it chose.
 *
 * Closed loop (`clients` loops, each on its own connection), or open loop (`ratePerSecond`: the
 * load generator's Poisson schedule, latency counted from the scheduled start, up to `clients`
 * connections).
 */
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import type { Pool, PoolClient } from '../../src/db/pool.ts';
import { insertAccepted, operationInsertParams } from '../../src/db/sql/accept.ts';
import { utcTimestamp } from '../../src/kernel/clock.ts';
import { serializedData } from '../../src/accept/data-hash.ts';
import { JobInserts, jobsPayload } from '../../src/queue/job-insert.ts';
import { bossSchemaOf } from '../../src/queue/boss.ts';
import { queueForEntity } from '../../src/queue/names.ts';
import { product } from './bodies.ts';
import { percentile, poissonArrivals } from './arrivals.ts';

export interface FloorSpec {
  pool: Pool;
  boss: PgBoss;
  schema: string;
  items: number;
  clients: number;
  /** Open loop: bulks started per second (Poisson arrivals); absent: closed loop. */
  ratePerSecond?: number;
  warmupMs: number;
  durationMs: number;
}

export interface FloorResult {
  /** Bulks committed inside the measured window. */
  bulks: number;
  /** Bulks committed in the whole run, warm-up included. */
  total: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

export async function runFloor(spec: FloorSpec): Promise<FloorResult> {
  const { pool, boss, schema, items } = spec;
  const data = Array.from({ length: items }, (_, i) => serializedData({ product: product(i) }, '1'));
  const keys = Array.from({ length: items }, (_, i) => i);
  const part = await new JobInserts(boss, bossSchemaOf(boss)!).fragment(queueForEntity('products'));
  if (!part) throw new Error('no embedded job insert for async.products');
  const text = insertAccepted(schema, { webhooks: false, queues: [part] });
  const name = `floor_${items}`;

  const writeBulk = async (client: PoolClient) => {
    const uuid = randomUUID();
    await client.query({
      name,
      text,
      values: [
        [uuid],
        [1],
        [1],
        ['Topic async.V1.products.POST'],
        [items],
        [1],
        ['default'],
        [null],
        [utcTimestamp(new Date())],
        ...operationInsertParams([
          { bulkUuid: uuid, topic: 'async.V1.products.POST', operationId: 'PostV1Products', keys, serialized: data },
        ]),
        jobsPayload(keys.map((key) => ({ bulkUuid: uuid, key }))),
      ],
    });
  };

  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const measureTo = measureFrom + spec.durationMs;
  let counted = 0;
  let total = 0;
  const latencies: number[] = [];
  const clients = await Promise.all(Array.from({ length: spec.clients }, () => pool.connect()));
  try {
    const idle = [...clients];
    const waiting: ((c: PoolClient) => void)[] = [];
    const one = async (scheduled?: number) => {
      const client = idle.pop() ?? (await new Promise<PoolClient>((resolve) => waiting.push(resolve)));
      const sent = scheduled ?? performance.now();
      try {
        await writeBulk(client);
      } finally {
        const next = waiting.shift();
        if (next) next(client);
        else idle.push(client);
      }
      const done = performance.now();
      total++;
      if (done > measureFrom && done <= measureTo) counted++;
      if (sent >= measureFrom && (scheduled === undefined ? done <= measureTo : sent < measureTo)) {
        latencies.push(done - sent);
      }
    };
    if (spec.ratePerSecond === undefined) {
      await Promise.all(
        clients.map(async () => {
          while (performance.now() < measureTo) await one();
        }),
      );
    } else {
      await poissonArrivals(spec.ratePerSecond, start, measureTo, one);
    }
  } finally {
    for (const c of clients) c.release();
  }
  latencies.sort((a, b) => a - b);
  return {
    bulks: counted,
    total,
    seconds: spec.durationMs / 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
