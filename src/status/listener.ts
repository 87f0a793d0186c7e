/**
 * One LISTEN connection per process for `<schema>_bulk_finished`, shared by every long-polling
 * status request (`?waitSeconds=N`). A pooled connection cannot LISTEN (it goes back to the pool),
 * and a connection per waiter would exhaust Postgres, so one dedicated pg.Client, created on first
 * use, dispatches notifications to waiters by bulk uuid.
 *
 * Wake-ups are "re-check" signals, never results: a waiter subscribes first, then reads the bulk's
 * state, then sleeps. A notice delivered between the two is not lost (it wakes the waiter, which
 * re-reads), and after a reconnect every waiter is woken because notices sent while the
 * connection was down are gone.
 */
import pg from 'pg';
import type { Logger } from '../kernel/logger.ts';
import { E, WebapiError } from '../errors/catalogue.ts';

export interface BulkFinishedListener {
  /**
   * Registers `wake` for `bulkUuid`; resolves once LISTEN is active, so a state read after it
   * cannot miss a notice. Returns the function that unregisters.
   */
  subscribe(bulkUuid: string, wake: () => void): Promise<() => void>;
  close(): Promise<void>;
}

export interface ListenerOptions {
  /** Opens the dedicated connection (not from a pool: it must stay with us). */
  connect(): Promise<pg.Client>;
  channel: string;
  log: Logger;
  /** Delay before reconnecting after the connection dropped. Default 1000 ms. */
  reconnectDelayMs?: number;
  /**
   * Most waiters at once, over every bulk (each holds a request open); one more is refused with
   * 503 `TOO_MANY_WAITERS` and `Retry-After`. Default 1000.
   */
  maxWaiters?: number;
}

/** Connection settings of a pool, for a dedicated client beside it. */
export function clientFactory(pool: pg.Pool): () => Promise<pg.Client> {
  return async () => {
    const options = (pool as unknown as { options: pg.ClientConfig }).options;
    const client = new pg.Client({ ...options, application_name: 'magento-async:status-listener' });
    await client.connect();
    return client;
  };
}

export function createBulkFinishedListener(options: ListenerOptions): BulkFinishedListener {
  const waiters = new Map<string, Set<() => void>>();
  const maxWaiters = options.maxWaiters ?? 1000;
  let waiting = 0;
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  const quoted = `"${options.channel.replace(/"/g, '""')}"`;

  function wakeAll(): void {
    for (const set of waiters.values()) for (const wake of set) wake();
  }

  function dropped(c: pg.Client, error?: unknown): void {
    if (client !== c) return;
    client = null;
    c.removeAllListeners('notification');
    c.end().catch(() => {});
    if (closed) return;
    options.log.warn({ err: error }, 'bulk status listener connection lost; reconnecting');
    // Waiters re-read now (and time out normally if the database stays away); the reconnect
    // re-arms LISTEN for those still waiting.
    wakeAll();
    if (waiters.size > 0 && !reconnectTimer) {
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        if (!closed && waiters.size > 0) ensure().then(wakeAll, () => {});
      }, options.reconnectDelayMs ?? 1000);
      reconnectTimer.unref();
    }
  }

  async function open(): Promise<pg.Client> {
    const c = await options.connect();
    c.on('error', (error) => dropped(c, error));
    c.on('end', () => dropped(c));
    c.on('notification', (msg) => {
      if (msg.channel !== options.channel || !msg.payload) return;
      const set = waiters.get(msg.payload);
      if (set) for (const wake of [...set]) wake();
    });
    try {
      await c.query(`LISTEN ${quoted}`);
    } catch (error) {
      await c.end().catch(() => {});
      throw error;
    }
    if (closed) {
      await c.end().catch(() => {});
      throw new Error('listener closed');
    }
    client = c;
    return c;
  }

  function ensure(): Promise<pg.Client> {
    if (client) return Promise.resolve(client);
    if (!connecting) {
      connecting = open().finally(() => {
        connecting = null;
      });
    }
    return connecting;
  }

  return {
    async subscribe(bulkUuid, wake) {
      if (waiting >= maxWaiters) throw new WebapiError(E.TOO_MANY_WAITERS, { retryAfter: 1 });
      let set = waiters.get(bulkUuid);
      if (!set) waiters.set(bulkUuid, (set = new Set()));
      // A wrapper per subscription: the same function subscribed twice still counts (and leaves) twice.
      const entry = () => wake();
      set.add(entry);
      waiting++;
      let subscribed = true;
      const unsubscribe = () => {
        if (!subscribed) return;
        subscribed = false;
        waiting--;
        const s = waiters.get(bulkUuid);
        if (!s) return;
        s.delete(entry);
        if (s.size === 0) waiters.delete(bulkUuid);
      };
      try {
        await ensure();
      } catch (error) {
        unsubscribe();
        throw error;
      }
      return unsubscribe;
    },
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const c = client ?? (connecting ? await connecting.catch(() => null) : null);
      client = null;
      wakeAll();
      waiters.clear();
      waiting = 0;
      if (c) await c.end().catch(() => {});
    },
  };
}
