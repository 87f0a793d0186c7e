/** SQL about pg-boss's tables that pg-boss has no API for; pure functions of its schema name. */
import { ident } from '../pool.ts';

export function analyzeJobTable(bossSchema: string): string {
  return `ANALYZE ${ident(bossSchema)}.job`;
}
