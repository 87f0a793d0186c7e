/**
 * Which Magento service method a route calls (`Magento\Catalog\Api\ProductRepositoryInterface::save`),
 * so an interceptor or handler can target the method once and apply to all of its routes in any
 * spec. Where the name comes from, first match wins:
 *
 * 1. `x-magento-service` on the operation (`Class::method` or `{class, method}`).
 * 2. Magento's own route table for core routes (below). The 2.4.8 schemas Magento publishes name
 *    no service at all: operationIds are `PutV1ProductsSku`, built from the route, and no `x-`
 *    key carries the class. So the service of a core route can only come from Magento's
 *    `etc/webapi.xml`, transcribed here for the entities a bulk import touches.
 * 3. A pre-2.4 operationId (`catalogProductRepositoryV1SavePut`), which is Magento's service name
 *    plus the method: it gives `catalogProductRepositoryV1::save`, matched to a class by
 *    `serviceKey` (the class itself cannot be recovered: module boundaries are lost in camelCase).
 */
import { magentoService, normalisePath } from './paths.ts';

/**
 * `<METHOD> <path with {params}>` → service method, from magento/magento2 `app/code/Magento/<Module>/etc/webapi.xml`
 * (2.4.8). Path parameter names as the published schemas spell them.
 */
const MAGENTO_ROUTES: Record<string, string> = {
  'POST /V1/products': 'Magento\\Catalog\\Api\\ProductRepositoryInterface::save',
  'PUT /V1/products/{sku}': 'Magento\\Catalog\\Api\\ProductRepositoryInterface::save',
  'DELETE /V1/products/{sku}': 'Magento\\Catalog\\Api\\ProductRepositoryInterface::deleteById',
  'POST /V1/products/{sku}/media': 'Magento\\Catalog\\Api\\ProductAttributeMediaGalleryManagementInterface::create',
  'PUT /V1/products/{sku}/media/{entryId}':
    'Magento\\Catalog\\Api\\ProductAttributeMediaGalleryManagementInterface::update',
  'DELETE /V1/products/{sku}/media/{entryId}':
    'Magento\\Catalog\\Api\\ProductAttributeMediaGalleryManagementInterface::remove',
  'POST /V1/products/{sku}/links': 'Magento\\Catalog\\Api\\ProductLinkManagementInterface::setProductLinks',
  'PUT /V1/products/{sku}/links': 'Magento\\Catalog\\Api\\ProductLinkRepositoryInterface::save',
  'POST /V1/configurable-products/{sku}/child': 'Magento\\ConfigurableProduct\\Api\\LinkManagementInterface::addChild',
  'POST /V1/categories': 'Magento\\Catalog\\Api\\CategoryRepositoryInterface::save',
  'PUT /V1/categories/{id}': 'Magento\\Catalog\\Api\\CategoryRepositoryInterface::save',
  'DELETE /V1/categories/{categoryId}': 'Magento\\Catalog\\Api\\CategoryRepositoryInterface::deleteByIdentifier',
  'POST /V1/customers': 'Magento\\Customer\\Api\\AccountManagementInterface::createAccount',
  'PUT /V1/customers/{customerId}': 'Magento\\Customer\\Api\\CustomerRepositoryInterface::save',
  'DELETE /V1/customers/{customerId}': 'Magento\\Customer\\Api\\CustomerRepositoryInterface::deleteById',
  'POST /V1/cmsPage': 'Magento\\Cms\\Api\\PageRepositoryInterface::save',
  'PUT /V1/cmsPage/{id}': 'Magento\\Cms\\Api\\PageRepositoryInterface::save',
  'DELETE /V1/cmsPage/{pageId}': 'Magento\\Cms\\Api\\PageRepositoryInterface::deleteById',
  'POST /V1/cmsBlock': 'Magento\\Cms\\Api\\BlockRepositoryInterface::save',
  'PUT /V1/cmsBlock/{id}': 'Magento\\Cms\\Api\\BlockRepositoryInterface::save',
  'DELETE /V1/cmsBlock/{blockId}': 'Magento\\Cms\\Api\\BlockRepositoryInterface::deleteById',
  'POST /V1/carts/{quoteId}/items': 'Magento\\Quote\\Api\\CartItemRepositoryInterface::save',
  'PUT /V1/carts/{cartId}/items/{itemId}': 'Magento\\Quote\\Api\\CartItemRepositoryInterface::save',
  'DELETE /V1/carts/{cartId}/items/{itemId}': 'Magento\\Quote\\Api\\CartItemRepositoryInterface::deleteById',
  'POST /V1/carts/mine/items': 'Magento\\Quote\\Api\\CartItemRepositoryInterface::save',
  'PUT /V1/carts/mine/items/{itemId}': 'Magento\\Quote\\Api\\CartItemRepositoryInterface::save',
  'DELETE /V1/carts/mine/items/{itemId}': 'Magento\\Quote\\Api\\CartItemRepositoryInterface::deleteById',
};

const LEGACY_OPERATION_ID = /^([a-z][A-Za-z0-9]*V\d+)([A-Z][A-Za-z0-9]*?)(Post|Put|Patch|Delete)$/;

/** The route's service method, or null when neither the spec nor Magento's route table names one. */
export function serviceOf(
  method: string,
  pathKey: string,
  operation: Record<string, unknown>,
  specOperationId: string | null,
): string | null {
  const named = magentoService(operation['x-magento-service']);
  if (named) return `${named.class}::${named.method}`;
  const known = MAGENTO_ROUTES[`${method.toUpperCase()} ${normalisePath(pathKey).replace(/:([^/]+)/g, '{$1}')}`];
  if (known) return known;
  const legacy = specOperationId ? LEGACY_OPERATION_ID.exec(specOperationId) : null;
  if (legacy) return `${legacy[1]}::${legacy[2]!.charAt(0).toLowerCase()}${legacy[2]!.slice(1)}`;
  return null;
}
