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
