/**
 * What catalog operations reference (the plugin API's `requires`): an operation that names other
 * products waits while an accepted operation of one of them is unfinished, and fails if that fails,
 * so a bulk may list children before their parents (docs/dependencies.md). An operation's own
 * product (its entity key) is kept in order by the key already.
 *
 * Keyed by the operationIds of Magento's admin spec; a route table without one of them (the sample
 * spec has only products and media) leaves that entry out when the example loads.
 */
import type { Requirement, Requires } from '../../src/plugin.ts';

const product = (sku: unknown): Requirement[] =>
  typeof sku === 'string' && sku ? [{ entity: 'products', key: sku }] : [];

interface ProductLink {
  linked_product_sku?: unknown;
}

/** The products a product's links point to (`product_links[].linked_product_sku`). */
const linked = (links: unknown): Requirement[] =>
  Array.isArray(links) ? links.flatMap((l: ProductLink) => product(l?.linked_product_sku)) : [];

type Args = Record<string, unknown> & { product?: { product_links?: unknown } };

export const requires: Record<string, Requires<Args>> = {
  // A product saved with links needs the products it links to.
  PostV1Products: (args) => linked(args.product?.product_links),
  PutV1ProductsSku: (args) => linked(args.product?.product_links),
  // A configurable product's child link needs the configurable and the child.
  PostV1ConfigurableproductsSkuChild: (args) => [...product(args.sku), ...product(args.childSku)],
  // Product links need the linked products.
  PostV1ProductsSkuLinks: (args) => linked(args.items),
  PutV1ProductsSkuLinks: (args) => linked([args.entity]),
  // Media of a product need the product. Their own key is the product's sku too (the route's path
  // parameter), so the key's order already runs the earlier saves first; declared all the same.
  PostV1ProductsSkuMedia: (args) => product(args.sku),
  PutV1ProductsSkuMediaEntryId: (args) => product(args.sku),
};
