/** Lets pg-boss run its statements on one of our pg clients (and so inside our transaction). */
import type { Db } from 'pg-boss';

export interface SqlClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export function bossDb(client: SqlClient): Db {
  return {
    async executeSql(text, values) {
      const result = await client.query(text, values);
      return { rows: result.rows as unknown[] as never[] };
    },
  };
}

/**
 * The ids a pg-boss settle (complete, fail, touch) changed: its fenced statements return them
 * beside the count (`settled`, missing from pg-boss's declared type).
 */
export const settledIds = (response: unknown): string[] | undefined =>
  (response as { settled?: string[] } | undefined)?.settled;
