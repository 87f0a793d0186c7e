/**
 * A product as Magento's ProductRepository saves and shows it: the rules shared by the catalog's
 * single handlers (index.ts) and its batch handlers (batch.ts).
 */
import { OperationError, type HandlerContext, type Queryable, type StoreScope } from '../../src/plugin.ts';
import { REQUIRED_ATTRIBUTES, writeStoreId } from './scope.ts';
import { ADMIN_STORE_ID, selectProduct, upsertProduct, writeValues, type ProductRow } from './sql.ts';

/** Attributes returned at the top level of a product; any other attribute is a custom attribute. */
const TOP_LEVEL = ['name', 'price', 'status', 'visibility', 'weight'] as const;
/** Values a new product gets at the admin scope when the request gives none (Magento's defaults). */
const NEW_PRODUCT_DEFAULTS = new Map<string, unknown>([
  ['status', 1],
  ['visibility', 4],
]);

export interface ProductInput {
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

export const NO_SUCH_PRODUCT = "The product that was requested doesn't exist. Verify the product and try again.";
const SKU_REQUIRED = '"sku" is required. Enter and try again.';
/** Magento\Catalog\Model\Product\Attribute\Backend\Sku::SKU_MAX_LENGTH, counted in characters. */
export const SKU_MAX_LENGTH = 64;
export const SKU_TOO_LONG = `SKU length should be ${SKU_MAX_LENGTH} characters maximum.`;
/** The decimal attributes' backend (Product\Attribute\Backend\Price) refuses a negative value. */
export const NEGATIVE_PRICE = 'Please enter a number 0 or greater in this field.';

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
  return row && viewOf(row);
}

export function viewOf(row: ProductRow): Record<string, unknown> {
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

/**
 * What a save writes once it knows whether it created the product: the values at the scope's
 * store, and the admin values added only where missing — the required attributes when that store
 * is a view (first wins), then a new product's defaults. The single and the batch handler share it.
 */
export function writePlan(
  product: ProductInput,
  store: StoreScope,
  created: boolean,
): { storeId: number; values: Map<string, unknown>; missingAtAdmin: Map<string, unknown> } {
  const values = attributeValues(product);
  const storeId = writeStoreId(store, created);
  const missingAtAdmin = new Map<string, unknown>();
  if (storeId !== ADMIN_STORE_ID) {
    for (const [code, value] of values) if (REQUIRED_ATTRIBUTES.includes(code)) missingAtAdmin.set(code, value);
  }
  if (created) {
    for (const [code, value] of NEW_PRODUCT_DEFAULTS) {
      // Saved at the admin scope with a value of its own, the default would be a write that finds
      // it there: left out, so a create that gives them all saves the statement.
      if (storeId === ADMIN_STORE_ID && values.has(code)) continue;
      if (!missingAtAdmin.has(code)) missingAtAdmin.set(code, value);
    }
  }
  return { storeId, values, missingAtAdmin };
}

/** ProductRepository::save: creates the sku or updates it, writing values to the scope's store. */
export async function saveProduct(
  product: ProductInput,
  sku: string,
  ctx: HandlerContext,
): Promise<Record<string, unknown>> {
  const { tx, store } = ctx;
  const { created } = await upsertProduct(tx, sku, product.type_id ?? null, product.attribute_set_id ?? null);
  const plan = writePlan(product, store, created);
  await writeValues(tx, sku, plan.storeId, plan.values);
  await writeValues(tx, sku, ADMIN_STORE_ID, plan.missingAtAdmin, true);
  // The response shows the product in the scope it was saved in (the default view without a code).
  return (await productView(tx, sku, store.id))!;
}

/**
 * What ProductRepository::save refuses before it writes (the attribute backends' validate): the
 * catalog's check of a save, in validate-only requests and before its handlers.
 */
export function checkSave({ product, sku }: { product: ProductInput; sku: string }): void {
  if ([...sku].length > SKU_MAX_LENGTH) throw new OperationError(SKU_TOO_LONG);
  const price = attributeValues(product).get('price');
  if ((typeof price === 'number' || typeof price === 'string') && Number(price) < 0)
    throw new OperationError(NEGATIVE_PRICE);
}

function requireProduct(args: ProductArgs): ProductInput {
  if (!args.product || typeof args.product !== 'object') {
    throw new OperationError('"product" is required. Enter and try again.');
  }
  return args.product;
}

/** What a create saves: the product and its sku from the body. */
export function createInput(args: ProductArgs): { product: ProductInput; sku: string } {
  const product = requireProduct(args);
  if (typeof product.sku !== 'string' || !product.sku) throw new OperationError(SKU_REQUIRED);
  return { product, sku: product.sku };
}

/** What a PUT saves: Magento's PUT saves too, an unknown sku is created, the URL's sku wins. */
export function putInput(args: ProductArgs): { product: ProductInput; sku: string } {
  const product = requireProduct(args);
  const sku = args.sku ?? product.sku;
  if (typeof sku !== 'string' || !sku) throw new OperationError(SKU_REQUIRED);
  return { product, sku };
}
