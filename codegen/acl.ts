/**
 * ACL resources of a route (CONTRACT §7). Order of precedence: the operation's `x-acl`, then an
 * explicit `security: []` (anonymous), then a default per entity. Magento's published schemas
 * carry no ACL at all, so the default table gives the well-known entities the resources Magento's
 * webapi.xml uses; any other entity gets `<Entity>::manage` (entity with its first letter
 * upper-cased, e.g. `files` → `Files::manage`), which an operator grants like any other resource.
 */
import { isObject } from './types.ts';

const MAGENTO_DEFAULTS: Record<string, string> = {
  products: 'Magento_Catalog::products',
  attributes: 'Magento_Catalog::attributes_attributes',
  categories: 'Magento_Catalog::categories',
  customers: 'Magento_Customer::manage',
  customerGroups: 'Magento_Customer::group',
  addresses: 'Magento_Customer::manage',
  cmsPage: 'Magento_Cms::page',
  cmsBlock: 'Magento_Cms::block',
  carts: 'Magento_Cart::manage',
  'guest-carts': 'anonymous',
  orders: 'Magento_Sales::sales',
  order: 'Magento_Sales::sales',
  invoices: 'Magento_Sales::sales',
  invoice: 'Magento_Sales::sales',
  creditmemo: 'Magento_Sales::sales',
  creditmemos: 'Magento_Sales::sales',
  shipment: 'Magento_Sales::sales',
  shipments: 'Magento_Sales::sales',
  inventory: 'Magento_InventoryApi::inventory',
  stockItems: 'Magento_CatalogInventory::cataloginventory',
  coupons: 'Magento_SalesRule::quote',
  salesRules: 'Magento_SalesRule::quote',
  taxRates: 'Magento_Tax::manage_tax',
  taxRules: 'Magento_Tax::manage_tax',
  store: 'Magento_Backend::store',
};

export function aclOf(operation: Record<string, unknown>, entity: string): string[] {
  const explicit = operation['x-acl'];
  const list = Array.isArray(explicit)
    ? explicit.filter((v): v is string => typeof v === 'string')
    : typeof explicit === 'string'
      ? explicit.split(',')
      : [];
  const cleaned = [...new Set(list.map((v) => v.trim()).filter(Boolean))];
  if (cleaned.length > 0) return cleaned;
  if (Array.isArray(operation.security) && operation.security.length === 0) return ['anonymous'];
  if (
    Array.isArray(operation.security) &&
    operation.security.every((s) => isObject(s) && Object.keys(s).length === 0)
  ) {
    return ['anonymous'];
  }
  return [defaultResource(entity)];
}

export function defaultResource(entity: string): string {
  if (Object.hasOwn(MAGENTO_DEFAULTS, entity)) return MAGENTO_DEFAULTS[entity]!;
  return `${entity.charAt(0).toUpperCase()}${entity.slice(1)}::manage`;
}
