/**
 * Every statement of the customer plugin. Tables are unqualified: each operation's search path has
 * our schema (the `store` table) and the plugin's own, where `migrations` created its tables.
 */
import type { Queryable } from '../../src/plugin.ts';

export interface CustomerRow {
  id: number;
  group_id: number;
  created_at: string;
  updated_at: string;
  created_in: string;
  email: string;
  firstname: string;
  lastname: string;
  middlename: string | null;
  store_id: number;
  website_id: number;
}

export interface NewCustomer {
  email: string;
  firstname: string;
  lastname: string;
  middlename: string | null;
  storeId: number;
  websiteId: number | null;
  groupId: number | null;
  passwordHash: string | null;
}

/**
 * Inserts unless the email exists in the website. ON CONFLICT instead of catching the unique
 * violation: an error would abort the operation's transaction, which also records its status.
 * Returns null for a duplicate.
 */
export async function insertCustomer(tx: Queryable, c: NewCustomer): Promise<CustomerRow | null> {
  const { rows } = await tx.query<CustomerRow>(
    `WITH s AS (SELECT store_id, website_id, name FROM store WHERE store_id = $5),
     ins AS (
       INSERT INTO customer_entity (email, firstname, lastname, middlename, store_id, website_id, group_id, password_hash)
       SELECT $1, $2, $3, $4, s.store_id, coalesce($6::integer, s.website_id), coalesce($7::integer, 1), $8 FROM s
       ON CONFLICT (lower(email), website_id) DO NOTHING
       RETURNING *
     )
     SELECT ins.id, ins.group_id,
            to_char(ins.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at,
            to_char(ins.updated_at, 'YYYY-MM-DD HH24:MI:SS') AS updated_at,
            s.name AS created_in, ins.email, ins.firstname, ins.lastname, ins.middlename,
            ins.store_id, ins.website_id
     FROM ins, s`,
    [c.email, c.firstname, c.lastname, c.middlename, c.storeId, c.websiteId, c.groupId, c.passwordHash],
  );
  return rows[0] ?? null;
}

export async function storeExists(tx: Queryable, storeId: number): Promise<boolean> {
  const { rows } = await tx.query('SELECT 1 FROM store WHERE store_id = $1', [storeId]);
  return rows.length > 0;
}
