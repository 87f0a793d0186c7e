/**
 * The handler's `ctx.tx`: a transaction opened on first use. A handler that never touches the
 * database costs no transaction of its own, and its outcome is recorded with its batch's others in
 * one statement; a handler that does gets a transaction that also records its status and completes
 * its job, so its writes happen exactly once.
 */
import type { QueryResultRow } from 'pg';
import { ident, type Pool, type PoolClient } from '../db/pool.ts';
import type { Queryable } from '../plugins/api.ts';

export const HANDLER_SAVEPOINT = 'handler';

export class LazyTransaction implements Queryable {
  #pool: Pool;
  #searchPath: readonly string[];
  #opening: Promise<PoolClient> | null = null;
  #abandoned = false;

  /** `searchPath`: our schema, then the plugins' (PluginRegistry.searchPath); default ours and public. */
  constructor(pool: Pool, schema: string, searchPath: readonly string[] = [schema, 'public']) {
    this.#pool = pool;
    this.#searchPath = searchPath;
  }

  get started(): boolean {
    return this.#opening !== null && !this.#abandoned;
  }

  /** The open transaction's client; only valid once `started`. */
  client(): Promise<PoolClient> {
    if (!this.#opening) throw new Error('transaction not started');
    return this.#opening;
  }

  /**
   * Ends the transaction without its outcome (a handler aborted at its timeout, or whose claim may
   * lapse): the connection is destroyed, so the server rolls back whatever the handler wrote, and
   * the handler's later queries fail.
   */
  abandon(): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#opening?.then(
      (client) => client.release(new Error('transaction abandoned')),
      () => {},
    );
  }

  async query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]) {
    if (this.#abandoned) throw new Error('The operation was aborted; its transaction is closed.');
    this.#opening ??= this.#open();
    const client = await this.#opening;
    const result = await client.query<R>(text, values);
    return { rows: result.rows, rowCount: result.rowCount };
  }

  async #open(): Promise<PoolClient> {
    const client = await this.#pool.connect();
    try {
      // The savepoint lets a throwing handler's writes be undone while its failure status and job
      // settlement still go through this same transaction.
      // Plugins name their tables unqualified: the search path finds ours (`store`) and every
      // plugin's own schema, for this transaction only.
      await client.query(
        `BEGIN; SET LOCAL search_path TO ${this.#searchPath.map(ident).join(', ')}; SAVEPOINT ${HANDLER_SAVEPOINT}`,
      );
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    return client;
  }
}
