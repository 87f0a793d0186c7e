/**
 * The raw-SQL floor of a bulk accept: the same rows the accept transaction writes (one bulk row,
 * `items` operation rows with a realistic serialized_data, `items` pg-boss jobs through the same
 * `boss.insert` with the `db` option) in one transaction per bulk, by `clients` concurrent loops,
 * with no HTTP, no parsing, no validation and no hashing (serialized_data is built once).
 */
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import type { Pool } from '../../src/db/pool.ts';
import { insertBulks, insertOperations, operationInsertParams } from '../../src/db/sql/accept.ts';
import { serializedData } from '../../src/accept/data-hash.ts';
import { bossDb } from '../../src/queue/adapter.ts';
import { queueForEntity } from '../../src/queue/names.ts';
import { product } from './bodies.ts';

export interface FloorSpec {
  pool: Pool;
  boss: PgBoss;
  schema: string;
  items: number;
  clients: number;
  warmupMs: number;
  durationMs: number;
}

export interface FloorResult {
  /** Bulks committed inside the measured window. */
  bulks: number;
  /** Bulks committed in the whole run, warm-up included. */
  total: number;
  seconds: number;
}

export async function runFloor(spec: FloorSpec): Promise<FloorResult> {
  const { pool, boss, schema, items } = spec;
  const data = Array.from({ length: items }, (_, i) => serializedData({ product: product(i) }, '1'));
  const keys = Array.from({ length: items }, (_, i) => i);
  const queue = queueForEntity('products');
  const bulkSql = insertBulks(schema);
  const operationSql = insertOperations(schema);

  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const measureTo = measureFrom + spec.durationMs;
  let counted = 0;
  let total = 0;
  await Promise.all(
    Array.from({ length: spec.clients }, async () => {
      const client = await pool.connect();
      try {
        while (performance.now() < measureTo) {
          const uuid = randomUUID();
          await client.query('BEGIN');
          await client.query(bulkSql, [
            [uuid],
            [1],
            [1],
            ['Topic async.V1.products.POST'],
            [items],
            [1],
            ['default'],
            [null],
          ]);
          await client.query(
            operationSql,
            operationInsertParams([
              {
                bulkUuid: uuid,
                topic: 'async.V1.products.POST',
                operationId: 'PostV1Products',
                keys,
                serialized: data,
              },
            ]),
          );
          await boss.insert(
            queue,
            keys.map((key) => ({ id: randomUUID(), data: { bulk: uuid, key } })),
            { db: bossDb(client) },
          );
          await client.query('COMMIT');
          const done = performance.now();
          total++;
          if (done > measureFrom && done <= measureTo) counted++;
        }
      } finally {
        client.release();
      }
    }),
  );
  return { bulks: counted, total, seconds: spec.durationMs / 1000 };
}
