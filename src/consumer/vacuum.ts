/**
 * Vacuum when the server does not. Every attempt rewrites rows (its job twice, its operation once,
 * its key's place in `operation_order`), and PostgreSQL reclaims the old versions by vacuum. With
 * autovacuum off they pile up and every statement wades through more of them as the history grows
 * (bench:depth, 1,000,000 upserts on a server with `autovacuum = off`: 2,400 ops/s over the first
 * 200,000, 484 at the end, 1,870,000 dead rows in the job table; 400,000 upserts back to back:
 * 3,269 ops/s, 2,384 at the end, against 4,081 and 5,268 with this vacuum).
 * So a consumer whose server has autovacuum off vacuums the tables it rewrites (pg-boss's job table,
 * `operation_order`, `operation`) itself, each time it handled `every` operations since the last,
 * one consumer at a time (an advisory lock), in the background: a failure is a warning line. With
 * autovacuum on it does nothing.
 */
import type { Pool } from '../db/pool.ts';
import { ident } from '../db/pool.ts';
import type { Logger } from '../kernel/logger.ts';

/** Operations handled between two vacuums of a consumer. */
export const VACUUM_EVERY = 100_000;

export const autovacuumOn = `SELECT current_setting('autovacuum') = 'on' AS on`;

/** One vacuum at a time, whatever the consumers: $1 text, the schema's name. */
export const tryVacuumLock = `SELECT pg_try_advisory_lock(hashtext('magento-async:vacuum:' || $1)) AS locked`;
export const vacuumUnlock = `SELECT pg_advisory_unlock(hashtext('magento-async:vacuum:' || $1))`;

/** The tables every attempt rewrites (a partitioned job table is vacuumed partition by partition). */
export function vacuumTables(schema: string, bossSchema: string): string {
  const s = ident(schema);
  return `VACUUM ${ident(bossSchema)}.job, ${s}.operation_order, ${s}.operation`;
}

export class Vacuum {
  #pool: Pool;
  #schema: string;
  #bossSchema: string;
  #log: Logger;
  #every: number;
  #needed: Promise<boolean> | null = null;
  #since = 0;
  #running: Promise<void> | null = null;

  constructor(pool: Pool, schema: string, bossSchema: string, log: Logger, every = VACUUM_EVERY) {
    this.#pool = pool;
    this.#schema = schema;
    this.#bossSchema = bossSchema;
    this.#log = log;
    this.#every = every;
  }

  /** Counts handled operations; starts a vacuum in the background once `every` were since the last. */
  handled(count: number): void {
    this.#since += count;
    if (this.#since < this.#every || this.#running) return;
    this.#since = 0;
    this.#running = this.#run().finally(() => (this.#running = null));
  }

  /** Resolves once no vacuum started by {@link handled} is under way. */
  async idle(): Promise<void> {
    await this.#running;
  }

  async #run(): Promise<void> {
    try {
      this.#needed ??= this.#pool
        .query<{ on: boolean }>(autovacuumOn)
        .then(({ rows }) => !rows[0]!.on)
        .catch(() => ((this.#needed = null), false));
      if (!(await this.#needed)) return;
      const client = await this.#pool.connect();
      try {
        const { rows } = await client.query<{ locked: boolean }>(tryVacuumLock, [this.#schema]);
        if (!rows[0]!.locked) return;
        try {
          const started = performance.now();
          await client.query(vacuumTables(this.#schema, this.#bossSchema));
          this.#log.info(
            { ms: Math.round(performance.now() - started) },
            'vacuumed the job and operation tables (autovacuum is off)',
          );
        } finally {
          await client.query(vacuumUnlock, [this.#schema]);
        }
      } finally {
        client.release();
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'could not vacuum the job and operation tables; autovacuum is off');
    }
  }
}
