/** The reads of one bulk that several endpoints (and the dashboard) share. */
import type pg from 'pg';
import * as sql from '../db/sql/status.ts';
import type { BulkSummaryRow } from '../db/sql/status.ts';
import { isUuid } from './search-criteria.ts';
import { checkBulkChange, type Access, type BulkOwner } from './access.ts';

export async function selectSummary(
  pool: pg.Pool | pg.PoolClient,
  schema: string,
  uuid: string,
): Promise<BulkSummaryRow | undefined> {
  // A malformed uuid cannot name a bulk: answer "not found" without asking Postgres to cast it.
  if (!isUuid(uuid)) return undefined;
  const { rows } = await pool.query<BulkSummaryRow>(sql.selectBulkSummary(schema), [uuid]);
  return rows[0];
}

export async function selectOwner(pool: pg.Pool, schema: string, uuid: string): Promise<BulkOwner | undefined> {
  if (!isUuid(uuid)) return undefined;
  const { rows } = await pool.query<BulkOwner>(sql.selectBulkOwner(schema), [uuid]);
  return rows[0];
}

/** Locks the bulk row for the rest of `client`'s transaction, then checks the caller may change it. */
export async function lockAndCheck(client: pg.PoolClient, schema: string, a: Access, uuid: string): Promise<void> {
  const row = isUuid(uuid) ? (await client.query<BulkOwner>(sql.lockBulk(schema), [uuid])).rows[0] : undefined;
  checkBulkChange(a, uuid, row);
}
