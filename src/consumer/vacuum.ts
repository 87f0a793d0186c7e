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
 *
 * A backlog accepted while no consumer ran is in the same state: its rows were never vacuumed. A
 * consumer that starts on it ran at half speed until its first vacuum, 100,000 operations in
 * (bench:depth --ops 200000 on this machine: 2,018 ops/s with 180,000 open against 5,603 with 2,000,
 * 0.36x; the same run with the tables vacuumed before the consumer started: 4,781 and 2,633; every
 * statement of a batch, the plugin's too, was slower, and the fetch and claim read the same buffers
 * at either depth). So at start it vacuums at once when the operation table took `every` rows since
 * its last vacuum, by the server's statistics.
 *
 * The handlers it runs rewrite their plugins' tables just as often (the catalog example updates a
 * product's row and its values with every save, leaving the old versions behind), so the tables of
 * the plugins' own schemas (src/plugins/migrations.ts) are vacuumed with them, under the same rule,
 * those that took rows since their last vacuum (`writtenTablesOfSchemas`).
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

/**
 * The tables every attempt rewrites (a partitioned job table is vacuumed partition by partition),
 * and `pluginTables` (qualified, quoted names).
 */
export function vacuumTables(schema: string, bossSchema: string, pluginTables: readonly string[] = []): string {
  const s = ident(schema);
  return `VACUUM ${[`${ident(bossSchema)}.job`, `${s}.operation_order`, `${s}.operation`, ...pluginTables].join(', ')}`;
}

/** SQL: rows inserted into or made dead in a table since its last vacuum, from its `pg_stat_user_tables` row `t`. */
const written = (t: string): string => `${t}.n_ins_since_vacuum + ${t}.n_dead_tup`;

/** Rows inserted into or made dead in the table $1 (regclass text) since its last vacuum. */
export const writtenSinceVacuum = `SELECT coalesce(sum(${written('t')}), 0)::bigint AS rows
  FROM pg_stat_user_tables t WHERE t.relid = to_regclass($1)`;

/** The tables (not partitioned parents, whose partitions are listed) of the schemas $1 text[], quoted, that match `condition` on `c` (pg_class). */
const tablesOf = (condition = 'true'): string => `SELECT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'm') AND ${condition} ORDER BY 1`;

/** The tables (not partitioned parents, whose partitions are listed) of the schemas $1 text[], quoted. */
export const tablesOfSchemas = tablesOf();

/**
 * The tables of `tablesOfSchemas` that took rows since their last vacuum. Not the others: a vacuum of a table never written, still
 * empty, records it as empty (0 pages, 0 rows; never vacuumed, the planner assumes 10 pages), and a
 * plan made then stays cached as the table grows: the catalog's tables, empty when a consumer
 * vacuumed at its start, had the foreign-key check of every value row seq-scan `catalog_product`
 * until the next vacuum (bench:depth --ops 300000: 53,137 scans reading 650 million rows, 1.4 ms
 * of CPU per operation against 0.4).
 */
export const writtenTablesOfSchemas = tablesOf(
  `EXISTS (SELECT 1 FROM pg_stat_user_tables t WHERE t.relid = c.oid AND ${written('t')} > 0)`,
);

export class Vacuum {
  #pool: Pool;
  #schema: string;
  #bossSchema: string;
  #pluginSchemas: readonly string[];
  #log: Logger;
  #every: number;
  #needed: Promise<boolean> | null = null;
  #since = 0;
  #running: Promise<void> | null = null;

  /** `pluginSchemas`: the plugins' own schemas, whose tables the handlers write. */
  constructor(
    pool: Pool,
    schema: string,
    bossSchema: string,
    log: Logger,
    every = VACUUM_EVERY,
    pluginSchemas: readonly string[] = [],
  ) {
    this.#pool = pool;
    this.#schema = schema;
    this.#bossSchema = bossSchema;
    this.#pluginSchemas = pluginSchemas;
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

  /**
   * At the consumer's start: a vacuum now, when the operation table took `every` rows since its last
   * vacuum (a backlog accepted while no consumer ran). The consumer waits for it before it fetches:
   * run beside the first batches, it took a core from them while they ran on the unvacuumed tables
   * at half speed, and the rows they rewrote meanwhile were left for the next vacuum, `every`
   * operations later (bench:depth --ops 300000: 0.59 ms of CPU per operation over the first 15 s
   * against 0.31-0.37 after).
   */
  start(): Promise<void> {
    this.#running ??= this.#run(true).finally(() => (this.#running = null));
    return this.#running;
  }

  /** Resolves once no vacuum started by {@link start} or {@link handled} is under way. */
  async idle(): Promise<void> {
    await this.#running;
  }

  async #run(onlyIfDue = false): Promise<void> {
    try {
      this.#needed ??= this.#pool
        .query<{ on: boolean }>(autovacuumOn)
        .then(({ rows }) => !rows[0]!.on)
        .catch(() => ((this.#needed = null), false));
      if (!(await this.#needed)) return;
      if (onlyIfDue) {
        const { rows } = await this.#pool.query<{ rows: string }>(writtenSinceVacuum, [
          `${ident(this.#schema)}.operation`,
        ]);
        if (Number(rows[0]!.rows) < this.#every) return;
      }
      const client = await this.#pool.connect();
      try {
        const { rows } = await client.query<{ locked: boolean }>(tryVacuumLock, [this.#schema]);
        if (!rows[0]!.locked) return;
        try {
          const started = performance.now();
          // Looked up each time: a plugin's migration may add a table while the consumer runs.
          const plugins = this.#pluginSchemas.length
            ? (await client.query<{ name: string }>(writtenTablesOfSchemas, [this.#pluginSchemas])).rows.map(
                (r) => r.name,
              )
            : [];
          await client.query(vacuumTables(this.#schema, this.#bossSchema, plugins));
          this.#log.info(
            { ms: Math.round(performance.now() - started), pluginTables: plugins.length },
            "vacuumed the job and operation tables and the plugins' (autovacuum is off)",
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
