import type { QueryResultRow } from 'pg';

/** A query runner bound to the operation's transaction (the same one that records its status). */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

let savepoints = 0;

/**
 * Runs `fn` in a savepoint of `tx`: if it throws (a failed statement included), what it wrote is
 * rolled back, the error is rethrown, and the transaction goes on: the way to catch a SQL error and
 * keep using `ctx.tx` (PostgreSQL ignores every statement after a failed one until then).
 */
export async function savepoint<T>(tx: Queryable, fn: () => Promise<T>): Promise<T> {
  const own = (tx as { savepoint?: (fn: () => Promise<T>) => Promise<T> }).savepoint;
  if (typeof own === 'function') return own.call(tx, fn);
  const name = `plugin_savepoint_${++savepoints}`;
  await tx.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn();
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    throw error;
  }
}
