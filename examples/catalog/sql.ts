/**
 * Every statement of the catalog plugin. Tables are unqualified: each operation's search path has
 * the plugin's own schema, where `migrations` created them (src/plugins/migrations.ts).
 */
import type { Queryable } from '../../src/plugin.ts';

export const ADMIN_STORE_ID = 0;

export interface ProductRow {
  entity_id: number;
  sku: string;
  type_id: string;
  attribute_set_id: number;
  created_at: string;
  updated_at: string;
  /** Attribute code → value as seen from the store view (own value, else the admin value). */
  attributes: Record<string, unknown>;
}

/** Creates the product or touches it; `created` tells the fallback rules which case applies. */
export async function upsertProduct(
  tx: Queryable,
  sku: string,
  typeId: string | null,
  attributeSetId: number | null,
): Promise<{ created: boolean }> {
  const { rows } = await tx.query<{ created: boolean }>(
    `INSERT INTO catalog_product AS p (sku, type_id, attribute_set_id)
     VALUES ($1, coalesce($2, 'simple'), coalesce($3::integer, 4))
     ON CONFLICT (sku) DO UPDATE SET
       type_id = coalesce($2, p.type_id),
       attribute_set_id = coalesce($3::integer, p.attribute_set_id),
       updated_at = now() AT TIME ZONE 'UTC'
     RETURNING (xmax = 0) AS created`,
    [sku, typeId, attributeSetId],
  );
  return { created: rows[0]!.created };
}

/**
 * Writes values for one store in one statement. `onlyMissing` inserts without overwriting: used
 * for the admin defaults Magento adds when a new product is first saved in a store view.
 */
export async function writeValues(
  tx: Queryable,
  sku: string,
  storeId: number,
  values: ReadonlyMap<string, unknown>,
  onlyMissing = false,
): Promise<void> {
  if (!values.size) return;
  const codes = [...values.keys()];
  const json = codes.map((c) => JSON.stringify(values.get(c) ?? null));
  await tx.query(
    `INSERT INTO catalog_product_value (sku, store_id, attribute, value)
     SELECT $1, $2, a, v::jsonb FROM unnest($3::text[], $4::text[]) AS t(a, v)
     ON CONFLICT (sku, store_id, attribute) DO ${onlyMissing ? 'NOTHING' : 'UPDATE SET value = excluded.value'}`,
    [sku, storeId, codes, json],
  );
}

export async function productExists(tx: Queryable, sku: string): Promise<boolean> {
  const { rows } = await tx.query('SELECT 1 FROM catalog_product WHERE sku = $1', [sku]);
  return rows.length > 0;
}

export async function deleteProduct(tx: Queryable, sku: string): Promise<boolean> {
  const { rowCount } = await tx.query('DELETE FROM catalog_product WHERE sku = $1', [sku]);
  return (rowCount ?? 0) > 0;
}

/** A product's columns as store `store` (an SQL expression) sees them: own value, else the admin one. */
const productColumns = (store: string) => `p.entity_id, p.sku, p.type_id, p.attribute_set_id,
            to_char(p.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at,
            to_char(p.updated_at, 'YYYY-MM-DD HH24:MI:SS') AS updated_at,
            coalesce((
              SELECT jsonb_object_agg(attribute, value)
              FROM (
                SELECT DISTINCT ON (attribute) attribute, value
                FROM catalog_product_value
                WHERE sku = p.sku AND store_id IN (0, ${store})
                ORDER BY attribute, store_id DESC
              ) v
            ), '{}'::jsonb) AS attributes`;

/** The product as store `storeId` sees it: its own value for each attribute, else the admin one. */
export async function selectProduct(tx: Queryable, sku: string, storeId: number): Promise<ProductRow | null> {
  const { rows } = await tx.query<ProductRow>(
    `SELECT ${productColumns('$2')} FROM catalog_product p WHERE p.sku = $1`,
    [sku, storeId],
  );
  return rows[0] ?? null;
}

// Set-based forms of the statements above, for the batch handlers (batch.ts): one statement for
// many products, each row with its own sku and store. Skus are distinct within one call.

/**
 * Creates the products that do not exist and touches the others, as upsertProduct does for each;
 * returns the skus created and updated (a sku in neither was taken by a concurrent writer).
 */
export async function upsertProducts(
  tx: Queryable,
  rows: readonly { sku: string; typeId: unknown; attributeSetId: unknown }[],
): Promise<{ sku: string; created: boolean }[]> {
  const { rows: result } = await tx.query<{ sku: string; created: boolean }>(
    `WITH input AS (
       SELECT sku, t AS type_id, a::integer AS attribute_set_id, n
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(sku, t, a, n)),
     updated AS (
       UPDATE catalog_product p SET
         type_id = coalesce(i.type_id, p.type_id),
         attribute_set_id = coalesce(i.attribute_set_id, p.attribute_set_id),
         updated_at = now() AT TIME ZONE 'UTC'
       FROM input i WHERE p.sku = i.sku
       RETURNING p.sku),
     inserted AS (
       INSERT INTO catalog_product (sku, type_id, attribute_set_id)
       SELECT sku, coalesce(type_id, 'simple'), coalesce(attribute_set_id, 4) FROM input
       WHERE sku NOT IN (SELECT sku FROM updated) ORDER BY n
       ON CONFLICT (sku) DO NOTHING
       RETURNING sku)
     SELECT sku, true AS created FROM inserted UNION ALL SELECT sku, false FROM updated`,
    [rows.map((r) => r.sku), rows.map((r) => r.typeId ?? null), rows.map((r) => r.attributeSetId ?? null)],
  );
  return result;
}

export interface ValueRow {
  sku: string;
  storeId: number;
  attribute: string;
  value: unknown;
}

/** writeValues for many products and stores in one statement; (sku, store, attribute) distinct. */
export async function writeManyValues(tx: Queryable, rows: readonly ValueRow[], onlyMissing = false): Promise<void> {
  if (!rows.length) return;
  await tx.query(
    `INSERT INTO catalog_product_value (sku, store_id, attribute, value)
     SELECT s, st, a, v::jsonb FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[]) AS t(s, st, a, v)
     ON CONFLICT (sku, store_id, attribute) DO ${onlyMissing ? 'NOTHING' : 'UPDATE SET value = excluded.value'}`,
    [
      rows.map((r) => r.sku),
      rows.map((r) => r.storeId),
      rows.map((r) => r.attribute),
      rows.map((r) => JSON.stringify(r.value ?? null)),
    ],
  );
}

/** Deletes the products; returns the skus that existed. */
export async function deleteProducts(tx: Queryable, skus: readonly string[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ sku: string }>(
    'DELETE FROM catalog_product WHERE sku = ANY($1::text[]) RETURNING sku',
    [skus],
  );
  return new Set(rows.map((r) => r.sku));
}

/** selectProduct for many (sku, store) pairs in one statement, keyed by sku. */
export async function selectProducts(
  tx: Queryable,
  wanted: readonly { sku: string; storeId: number }[],
): Promise<Map<string, ProductRow>> {
  const { rows } = await tx.query<ProductRow>(
    `SELECT ${productColumns('u.store_id')}
     FROM unnest($1::text[], $2::integer[]) AS u(sku, store_id) JOIN catalog_product p ON p.sku = u.sku`,
    [wanted.map((w) => w.sku), wanted.map((w) => w.storeId)],
  );
  return new Map(rows.map((r) => [r.sku, r]));
}
