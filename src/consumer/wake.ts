/**
 * Wakes the consumer's idle fetch loops when a job lands on their queue. pg-boss sends a NOTIFY with
 * the queue's name on every insert into a `notify` queue, but its own listener only wakes `work()`
 * workers; the consumer fetches with loops of its own, so it listens on the same channel itself
 * (through pg-boss's `listen`, which reconnects and heartbeats). Without a listener the loops poll.
 */
import type { Db, PgBoss } from 'pg-boss';
import type { Logger } from '../kernel/logger.ts';
import { bossSchemaOf } from '../queue/boss.ts';
import { NOTIFY_CHANNEL_SQL } from '../queue/pgboss-sql.ts';

/**
 * pg-boss's channel for a schema (`plans.notifyChannelSql`): `pgboss_` and the first 24 hex digits
 * of the sha224 of the schema name, a redundantly quoted name taken without its quotes. Computed by
 * the database from the same expression, so the bytes hashed are the ones pg-boss hashes.
 */
type ListenHandle = Awaited<ReturnType<NonNullable<Db['listen']>>>;

export function normalizeBossSchema(schema: string): string {
  return /^"[a-z_][a-z0-9_]*"$/.test(schema) ? schema.slice(1, -1) : schema;
}

export async function notifyChannel(boss: PgBoss, schema: string): Promise<string> {
  const { rows } = await boss.getDb().executeSql(NOTIFY_CHANNEL_SQL, [normalizeBossSchema(schema)]);
  return (rows[0] as { channel: string }).channel;
}

export class QueueWaker {
  #sleepers = new Map<string, Set<() => void>>();
  #handle: ListenHandle | null = null;
  #closed = false;

  /** Listens when it can (a boss from `createBoss` with LISTEN support); otherwise the loops poll. */
  static async start(boss: PgBoss, log: Logger): Promise<QueueWaker> {
    const waker = new QueueWaker();
    const schema = bossSchemaOf(boss);
    const db = boss.getDb();
    if (schema !== undefined && typeof db.listen === 'function') {
      try {
        const channel = await notifyChannel(boss, schema);
        waker.#handle = await db.listen(
          channel,
          (queue) => waker.wake(queue),
          // Notices sent while the connection was down are lost: look at every queue once.
          () => waker.wakeAll(),
        );
      } catch (error) {
        log.warn({ err: error }, 'could not listen for new jobs; polling instead');
      }
    }
    return waker;
  }

  /** Whether NOTIFY wakes the loops (so idle polls can be rarer). */
  get listening(): boolean {
    return this.#handle !== null;
  }

  /**
   * Resolves after `ms` (null: no time limit), or sooner when a job lands on `queue`, on `wake` of
   * it, on `wakeAll`, or on `close`.
   */
  sleep(queue: string, ms: number | null): Promise<void> {
    if (this.#closed) return Promise.resolve();
    let set = this.#sleepers.get(queue);
    if (!set) this.#sleepers.set(queue, (set = new Set()));
    const sleepers = set;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = ms === null ? undefined : setTimeout(done, ms);
      sleepers.add(done);
    });
  }

  wake(queue: string): void {
    const set = this.#sleepers.get(queue);
    if (set) for (const done of [...set]) done();
  }

  wakeAll(): void {
    for (const queue of this.#sleepers.keys()) this.wake(queue);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.wakeAll();
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }
}
