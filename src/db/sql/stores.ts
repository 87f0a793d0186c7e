/** SQL of store views, as functions of the schema name (schema names come from configuration). */
import { ident } from '../pool.ts';

const COLUMNS = 'store_id AS id, code, name, website_id AS "websiteId", is_active AS "isActive"';

export const selectStores = (s: string) => `SELECT ${COLUMNS} FROM ${ident(s)}.store ORDER BY store_id`;

export const selectStoreByCode = (s: string) => `SELECT ${COLUMNS} FROM ${ident(s)}.store WHERE code = $1`;

/**
 * Serialises store creation per schema: "next free id" is read-then-write, and two CLIs creating
 * stores at once must not pick the same id.
 */
export const lockStores = (s: string) => {
  ident(s); // validates the name, so it cannot contain a quote and is safe inside the literal
  return `SELECT pg_advisory_xact_lock(hashtext('magento-async:${s}:store'))`;
};

/** $1 code, $2 name, $3 website id. Takes the next id after the highest one. */
export const insertStore = (s: string) =>
  `INSERT INTO ${ident(s)}.store (store_id, code, name, website_id)
   SELECT coalesce(max(store_id), 0) + 1, $1, $2, $3 FROM ${ident(s)}.store
   RETURNING ${COLUMNS}`;
