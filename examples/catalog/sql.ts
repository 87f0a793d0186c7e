/**
 * Every statement of the catalog plugin. Tables are unqualified: each operation's search path has
 * the plugin's own schema, where `migrations` created them (src/plugins/migrations.ts).
 */
import type { Queryable } from '../../src/plugins/api.ts';

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

export async function deleteProduct(tx: Queryable, sku: string): Promise<boolean> {
  const { rowCount } = await tx.query('DELETE FROM catalog_product WHERE sku = $1', [sku]);
  return (rowCount ?? 0) > 0;
}

/** The product as store `storeId` sees it: its own value for each attribute, else the admin one. */
export async function selectProduct(tx: Queryable, sku: string, storeId: number): Promise<ProductRow | null> {
  const { rows } = await tx.query<ProductRow>(
    `SELECT p.entity_id, p.sku, p.type_id, p.attribute_set_id,
            to_char(p.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at,
            to_char(p.updated_at, 'YYYY-MM-DD HH24:MI:SS') AS updated_at,
            coalesce((
              SELECT jsonb_object_agg(attribute, value)
              FROM (
                SELECT DISTINCT ON (attribute) attribute, value
                FROM catalog_product_value
                WHERE sku = p.sku AND store_id IN (0, $2)
                ORDER BY attribute, store_id DESC
              ) v
            ), '{}'::jsonb) AS attributes
     FROM catalog_product p WHERE p.sku = $1`,
    [sku, storeId],
  );
  return rows[0] ?? null;
}
