/** Realistic request bodies for the accept benchmark (a product is ≈ 300 bytes of JSON). */

export function product(i: number): Record<string, unknown> {
  const sku = `BENCH-${String(i).padStart(6, '0')}`;
  return {
    sku,
    name: `Bench Product ${sku} — Joust Duffle Bag`,
    attribute_set_id: 4,
    price: 34 + (i % 100) / 100,
    status: 1,
    visibility: 4,
    type_id: 'simple',
    weight: 1.25,
    extension_attributes: {
      website_ids: [1],
      category_links: [{ position: i % 10, category_id: String(3 + (i % 7)) }],
    },
    custom_attributes: [
      { attribute_code: 'description', value: `<p>Bench product ${i}: the sporty bag for the gym.</p>` },
      { attribute_code: 'url_key', value: `bench-product-${i}` },
    ],
  };
}

/** A bulk POST /async/bulk/V1/products body: an array of `{product}` elements. */
export function bulkBody(items: number, variant = 0): string {
  return JSON.stringify(Array.from({ length: items }, (_, i) => ({ product: product(variant * items + i) })));
}

/** A single PUT /async/V1/products/<sku> body (the SKU comes from the path). */
export function singleBody(i: number): string {
  return JSON.stringify({ product: { name: `Bench Product ${i}`, price: 24 + (i % 50), status: 1, visibility: 4 } });
}
