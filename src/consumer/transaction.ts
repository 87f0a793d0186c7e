/**
 * The batch's shared transaction, and each unit's view of it (`ctx.tx`).
 *
 * One connection per batch carries the writes of every handler that uses `ctx.tx`, each inside a
 * savepoint of its own, and commits once with their outcomes and job completions (batch.ts). The
 * connection runs one statement at a time, so a unit takes the transaction's lock at its first
 * query and holds it until its handler has finished and its savepoint is released (success) or
 * rolled back (failure): two handlers' statements never interleave inside one savepoint. Handlers
 * that never touch `ctx.tx` never take the lock and run freely beside them.
 *
 * PostgreSQL aborts a transaction at the first failed statement until it is rolled back to a
 * savepoint. A handler that catches such an error and queries again gets a
 * {@link TransactionAbortedError} that says so (instead of the opaque 25P02), and one that returns
 * normally after it fails as such: its writes were lost with the aborted savepoint.
 */
import type { QueryResultRow } from 'pg';
import { ident, type Pool, type PoolClient } from '../db/pool.ts';
import { E, renderTemplate } from '../errors/catalogue.ts';
import { OperationError } from '../kernel/operation-errors.ts';
import type { Queryable } from '../kernel/queryable.ts';

/** SQLSTATE in_failed_sql_transaction. */
const IN_FAILED_TRANSACTION = '25P02';

/**
 * A statement ran after an earlier one failed in the same savepoint (and the handler caught that
 * failure): nothing more can run until the savepoint is rolled back. Final (status 3): running the
 * same handler again would do the same.
 */
export class TransactionAbortedError extends OperationError {
  constructor(failedCode: string) {
    super(renderTemplate(E.TRANSACTION_ABORTED.template, { code: failedCode }));
    this.name = 'TransactionAbortedError';
  }
}

/** Thrown to a handler that queries `ctx.tx` after it was aborted (timeout, lost claim, abandoned batch). */
export class TransactionClosedError extends Error {
  constructor() {
    super('The operation was aborted; its transaction is closed.');
    this.name = 'TransactionClosedError';
  }
}

/** One connection, opened at first use: `BEGIN` with our schema and the plugins' on the search path. */
export class SharedTransaction {
  #pool: Pool;
  #searchPath: readonly string[];
  #opening: Promise<PoolClient> | null = null;
  #gone = false;
  /** performance.now() when it was opened, for the group-commit window. */
  openedAt = 0;

  /** `searchPath`: our schema, then the plugins' (PluginRegistry.searchPath); default ours and public. */
  constructor(pool: Pool, schema: string, searchPath: readonly string[] = [schema, 'public']) {
    this.#pool = pool;
    this.#searchPath = searchPath;
  }

  get opened(): boolean {
    return this.#opening !== null;
  }

  /** Whether it was abandoned or ended: nothing more may run on it. */
  get gone(): boolean {
    return this.#gone;
  }

  client(): Promise<PoolClient> {
    if (this.#gone) return Promise.reject(new TransactionClosedError());
    if (!this.#opening) {
      this.openedAt = performance.now();
      this.#opening = this.#open();
      // A transaction that never opened wrote nothing: the next unit may try again.
      this.#opening.catch(() => (this.#opening = null));
    }
    return this.#opening;
  }

  async #open(): Promise<PoolClient> {
    const client = await this.#pool.connect();
    try {
      // Plugins name their tables unqualified: the search path finds ours (`store`) and every
      // plugin's own schema, for this transaction only.
      await client.query(`BEGIN; SET LOCAL search_path TO ${this.#searchPath.map(ident).join(', ')}`);
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    return client;
  }

  /**
   * Ends it for good, giving the connection back (`error`: destroyed, so the server rolls back).
   * Without `error` the caller has committed it: the connection goes back to the pool as it is.
   */
  async end(error?: Error): Promise<void> {
    if (this.#gone) return;
    this.#gone = true;
    const opening = this.#opening;
    if (!opening) return;
    try {
      const client = await opening;
      client.release(error);
    } catch {
      // Never opened: nothing to give back.
    }
  }

  /**
   * Ends it without committing: the connection is destroyed (a statement may still be running on
   * it), so the server rolls back everything written in it.
   */
  abandon(): void {
    if (this.#gone) return;
    this.#gone = true;
    void this.#opening?.then(
      async (client) => {
        // A statement of it may still be running (and holding locks) on the server, which would
        // only notice the closed socket when it answers: end that backend first, while it is
        // surely still ours, then drop the connection.
        const pid = (client as unknown as { processID?: number }).processID;
        if (pid) await this.#pool.query('SELECT pg_terminate_backend($1)', [pid]).catch(() => {});
        client.release(new Error('transaction abandoned'));
      },
      () => {},
    );
  }
}

/** The lock of a batch's shared transaction: one unit's statements at a time, in arrival order. */
export class TransactionLock {
  #held = false;
  #waiting: (() => void)[] = [];

  /** `first`: ahead of those already waiting (a commit, so the transaction stays short). */
  acquire(first = false): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => (first ? this.#waiting.unshift(resolve) : this.#waiting.push(resolve)));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#held = false;
  }
}

/** Where a unit's transaction is taken from: the batch's lock and its current shared transaction. */
export interface TransactionSource {
  lock: TransactionLock;
  /** The shared transaction to enter now (a fresh one after a commit or an abandon). */
  current(): SharedTransaction;
}

/** How a unit's part of the shared transaction ended. */
export type UnitEnd =
  /** It never queried `ctx.tx` (or never got in): nothing of it is in the transaction. */
  | 'untouched'
  /** Its savepoint was released: its writes commit with the batch. */
  | 'kept'
  /** Its savepoint was rolled back: nothing of it remains, its outcome commits with the batch. */
  | 'undone'
  /**
   * A statement of its own was still running (a handler aborted mid-query, or one that returned
   * without awaiting a query): the connection is unusable, so the shared transaction was abandoned.
   */
  | 'abandoned'
  /** The shared transaction it was in was already gone, or its savepoint could not be ended. */
  | 'lost';

let unitSeq = 0;

/**
 * A unit's `ctx.tx`: its savepoint inside the shared transaction, entered (lock, open, SAVEPOINT)
 * at its first query. `end(ok)` releases or rolls back the savepoint and frees the lock.
 */
export class UnitTransaction implements Queryable {
  #source: TransactionSource;
  readonly #seq = ++unitSeq;
  /** Its savepoint's name, made when it enters (most units never do). */
  #name = '';
  #phase: 'idle' | 'waiting' | 'entering' | 'in' = 'idle';
  #entering: Promise<PoolClient> | null = null;
  #shared: SharedTransaction | null = null;
  #closed = false;
  /** Statements sent and not yet answered. */
  #running = 0;
  /** Open savepoints (ours is depth 0) and, per depth, the SQLSTATE of the statement that aborted it. */
  #depth = 0;
  #aborted: (string | null)[] = [null];
  #nested = 0;

  #waits?: { waiting(): void; entered(): void };

  /** `waits` is told when the unit starts waiting for the lock and when it got in (its deadline pauses). */
  constructor(source: TransactionSource, waits?: { waiting(): void; entered(): void }) {
    this.#source = source;
    this.#waits = waits;
  }

  /** The shared transaction this unit entered, once it has. */
  get shared(): SharedTransaction | null {
    return this.#shared;
  }

  /** Whether a failed statement left its savepoint aborted (its writes are lost). */
  get aborted(): boolean {
    return this.#aborted.some((a) => a !== null);
  }

  /** The SQLSTATE of the failed statement that aborted this unit's savepoint, if any. */
  failedCode(): string | null {
    return this.#aborted.find((a) => a !== null) ?? null;
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]) {
    const client = await this.#enter();
    this.#throwIfAborted();
    this.#running++;
    try {
      const result = await client.query<R>(text, values);
      return { rows: result.rows, rowCount: result.rowCount };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === IN_FAILED_TRANSACTION) throw new TransactionAbortedError(this.failedCode() ?? code);
      this.#aborted[this.#depth] ??= typeof code === 'string' ? code : 'unknown';
      throw error;
    } finally {
      this.#running--;
    }
  }

  /**
   * Runs `fn` in a savepoint of its own: if it throws (or a statement in it failed), its statements
   * are rolled back, the error is rethrown, and the handler's transaction can go on.
   */
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const client = await this.#enter();
    this.#throwIfAborted();
    const name = `${this.#name}_${++this.#nested}`;
    await this.#statement(client, `SAVEPOINT ${name}`);
    this.#depth++;
    this.#aborted.push(null);
    let result: T;
    try {
      result = await fn();
      const failed = this.#aborted[this.#depth];
      if (failed) throw new TransactionAbortedError(failed);
    } catch (error) {
      this.#leaveSavepoint();
      await this.#statement(client, `ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`);
      throw error;
    }
    this.#leaveSavepoint();
    await this.#statement(client, `RELEASE SAVEPOINT ${name}`);
    return result;
  }

  /**
   * Ends the unit's part: its savepoint released when `ok` (and no statement failed), else rolled
   * back, and the lock freed. Later queries throw. A unit still waiting for the lock just leaves
   * the queue. `settle` is told (still under the lock, so no commit can come between) which shared
   * transaction now carries the unit's outcome, when one does ('kept' or 'undone').
   */
  async end(ok: boolean, settle?: (shared: SharedTransaction) => void): Promise<UnitEnd> {
    if (this.endUntouched()) return 'untouched';
    let client: PoolClient;
    try {
      client = await this.#entering!;
    } catch {
      return 'untouched';
    }
    const shared = this.#shared!;
    try {
      if (shared.gone) return 'lost';
      if (this.#running > 0) {
        shared.abandon();
        return 'abandoned';
      }
      const keep = ok && !this.aborted;
      try {
        await client.query(
          keep
            ? `RELEASE SAVEPOINT ${this.#name}`
            : `ROLLBACK TO SAVEPOINT ${this.#name}; RELEASE SAVEPOINT ${this.#name}`,
        );
      } catch {
        shared.abandon();
        return 'lost';
      }
      settle?.(shared);
      return keep ? 'kept' : 'undone';
    } finally {
      this.#source.lock.release();
    }
  }

  /**
   * Ends the unit's part at once if it never got in (what {@link end} calls 'untouched'): true then.
   * Most units never use `ctx.tx`, and this spares them a turn of the event loop.
   */
  endUntouched(): boolean {
    if (this.#phase !== 'idle' && this.#phase !== 'waiting') return false;
    this.#closed = true;
    return true;
  }

  /** Ends the unit's part by abandoning the shared transaction it is in (its claim may lapse). */
  async abandon(): Promise<void> {
    this.#closed = true;
    if (this.#phase === 'idle' || this.#phase === 'waiting') return;
    try {
      await this.#entering;
    } catch {
      return;
    }
    this.#shared!.abandon();
    this.#source.lock.release();
  }

  #enter(): Promise<PoolClient> {
    if (this.#closed) return Promise.reject(new TransactionClosedError());
    this.#entering ??= (async () => {
      this.#phase = 'waiting';
      this.#waits?.waiting();
      await this.#source.lock.acquire();
      this.#waits?.entered();
      if (this.#closed) {
        // Ended while it waited: it never got in.
        this.#source.lock.release();
        throw new TransactionClosedError();
      }
      this.#phase = 'entering';
      this.#name = `unit_${this.#seq}`;
      const shared = this.#source.current();
      try {
        const client = await shared.client();
        await client.query(`SAVEPOINT ${this.#name}`);
        this.#shared = shared;
        this.#phase = 'in';
        return client;
      } catch (error) {
        shared.abandon();
        this.#phase = 'idle';
        this.#source.lock.release();
        throw error;
      }
    })();
    return this.#entering.then((client) => {
      if (this.#closed) throw new TransactionClosedError();
      return client;
    });
  }

  #throwIfAborted(): void {
    const failed = this.#aborted[this.#depth];
    if (failed) throw new TransactionAbortedError(failed);
  }

  #leaveSavepoint(): void {
    this.#aborted.pop();
    this.#depth--;
  }

  async #statement(client: PoolClient, text: string): Promise<void> {
    this.#running++;
    try {
      await client.query(text);
    } finally {
      this.#running--;
    }
  }
}
