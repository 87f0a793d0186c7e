/**
 * Magento_Catalog: products in Postgres with store-view-scoped attribute values, saved with the
 * semantics of Magento's ProductRepository::save (create or update by sku) and the async store
 * fallback rules.
 */
import { readFileSync } from 'node:fs';
import { definePlugin, OperationError, type HandlerContext, type Queryable } from '../../src/plugins/api.ts';
import type { OperationArgs } from '../../src/generated/handlers.gen.ts';
import { REQUIRED_ATTRIBUTES, writeStoreId } from './scope.ts';
import { ADMIN_STORE_ID, deleteProduct, selectProduct, upsertProduct, writeValues } from './sql.ts';

export const migrations: string[] = [readFileSync(new URL('./schema.sql', import.meta.url), 'utf8')];

/** Attributes returned at the top level of a product; any other attribute is a custom attribute. */
const TOP_LEVEL = ['name', 'price', 'status', 'visibility', 'weight'] as const;
/** Values a new product gets at the admin scope when the request gives none (Magento's defaults). */
const NEW_PRODUCT_DEFAULTS = new Map<string, unknown>([
  ['status', 1],
  ['visibility', 4],
]);

interface ProductInput {
  sku?: string;
  type_id?: string;
  attribute_set_id?: number;
  custom_attributes?: { attribute_code: string; value: unknown }[];
  [attribute: string]: unknown;
}

export interface ProductArgs {
  product?: ProductInput;
  sku?: string;
  saveOptions?: boolean;
}

const NO_SUCH_PRODUCT = "The product that was requested doesn't exist. Verify the product and try again.";

function attributeValues(product: ProductInput): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const c of product.custom_attributes ?? []) {
    if (c && typeof c.attribute_code === 'string') values.set(c.attribute_code, c.value);
  }
  for (const code of TOP_LEVEL) {
    if (product[code] !== undefined) values.set(code, product[code]);
  }
  return values;
}

/** The product as Magento's REST API returns it for a store view. */
export async function productView(
  tx: Queryable,
  sku: string,
  storeId: number,
): Promise<Record<string, unknown> | null> {
  const row = await selectProduct(tx, sku, storeId);
  if (!row) return null;
  const { attributes } = row;
  const top = Object.fromEntries(TOP_LEVEL.filter((c) => c in attributes).map((c) => [c, attributes[c]]));
  return {
    id: row.entity_id,
    sku: row.sku,
    name: top.name,
    attribute_set_id: row.attribute_set_id,
    price: top.price,
    status: top.status,
    visibility: top.visibility,
    type_id: row.type_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
    ...('weight' in top ? { weight: top.weight } : {}),
    extension_attributes: { website_ids: [1] },
    product_links: [],
    options: [],
    media_gallery_entries: [],
    tier_prices: [],
    custom_attributes: Object.keys(attributes)
      .filter((c) => !(TOP_LEVEL as readonly string[]).includes(c))
      .sort()
      .map((c) => ({ attribute_code: c, value: attributes[c] })),
  };
}

/** ProductRepository::save: creates the sku or updates it, writing values to the scope's store. */
export async function saveProduct(
  product: ProductInput,
  sku: string,
  ctx: HandlerContext,
): Promise<Record<string, unknown>> {
  const { tx, store } = ctx;
  const { created } = await upsertProduct(tx, sku, product.type_id ?? null, product.attribute_set_id ?? null);
  const values = attributeValues(product);
  const storeId = writeStoreId(store, created);
  await writeValues(tx, sku, storeId, values);
  if (storeId !== ADMIN_STORE_ID) {
    const required = new Map([...values].filter(([code]) => REQUIRED_ATTRIBUTES.includes(code)));
    await writeValues(tx, sku, ADMIN_STORE_ID, required, true);
  }
  if (created) await writeValues(tx, sku, ADMIN_STORE_ID, NEW_PRODUCT_DEFAULTS, true);
  // The response shows the product in the scope it was saved in (the default view without a code).
  return (await productView(tx, sku, store.id))!;
}

function requireProduct(args: ProductArgs): ProductInput {
  if (!args.product || typeof args.product !== 'object') {
    throw new OperationError('"product" is required. Enter and try again.');
  }
  return args.product;
}

// Typed by the generated map: the consumer delivers arguments as it says (src/plugins/coerce.ts).
export default definePlugin<OperationArgs>({
  name: 'Magento_Catalog',
  compatibility: '^1.0.0',
  // Creates name their entity in the body; the other routes are keyed by their path parameters.
  orderKeys: { PostV1Products: ['product.sku'] },
  handlers: {
    PostV1Products: async (args, ctx) => {
      const product = requireProduct(args);
      if (typeof product.sku !== 'string' || !product.sku)
        throw new OperationError('"sku" is required. Enter and try again.');
      return saveProduct(product, product.sku, ctx);
    },
    // Magento's PUT saves too: an unknown sku is created, and the URL's sku wins over the body's.
    PutV1ProductsSku: async (args, ctx) => {
      const product = requireProduct(args);
      const sku = args.sku ?? product.sku;
      if (typeof sku !== 'string' || !sku) throw new OperationError('"sku" is required. Enter and try again.');
      return saveProduct(product, sku, ctx);
    },
    DeleteV1ProductsSku: async (args, ctx) => {
      if (typeof args.sku !== 'string' || !(await deleteProduct(ctx.tx, args.sku))) {
        throw new OperationError(NO_SUCH_PRODUCT);
      }
      return true;
    },
  },
});
