/**
 * What catalog operations reference (the plugin API's `requires`): an operation that names other
 * products waits while an accepted operation of one of them is unfinished, and fails if that fails,
 * so a bulk may list children before their parents (docs/dependencies.md). An operation's own
 * product (its entity key) is kept in order by the key already.
 *
 * Keyed by Magento's service methods (codegen/services.ts), as handlers may be: each applies to
 * whatever routes of a store's spec call that method, none when its spec lacks them (the sample spec
 * has products and media only), so the example declares whole modules' dependencies.
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
  // A product saved with links (POST /V1/products, PUT /V1/products/{sku}) needs the products it links to.
  'Magento\\Catalog\\Api\\ProductRepositoryInterface::save': (args) => linked(args.product?.product_links),
  // A configurable product's child link needs the configurable and the child.
  'Magento\\ConfigurableProduct\\Api\\LinkManagementInterface::addChild': (args) => [
    ...product(args.sku),
    ...product(args.childSku),
  ],
  // Product links (POST and PUT /V1/products/{sku}/links) need the linked products.
  'Magento\\Catalog\\Api\\ProductLinkManagementInterface::setProductLinks': (args) => linked(args.items),
  'Magento\\Catalog\\Api\\ProductLinkRepositoryInterface::save': (args) => linked([args.entity]),
  // Media of a product need the product. Their own key is the product's sku too (the route's path
  // parameter), so the key's order already runs the earlier saves first; declared all the same.
  'Magento\\Catalog\\Api\\ProductAttributeMediaGalleryManagementInterface::create': (args) => product(args.sku),
  'Magento\\Catalog\\Api\\ProductAttributeMediaGalleryManagementInterface::update': (args) => product(args.sku),
};
