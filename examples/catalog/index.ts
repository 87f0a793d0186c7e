/**
 * Magento_Catalog: products in Postgres with store-view-scoped attribute values, saved with the
 * semantics of Magento's ProductRepository::save (create or update by sku) and the async store
 * fallback rules. Each save also has a batch handler (batch.ts) that writes many at once. Its
 * checks (`validate`) answer `?validateOnly=true` requests and guard each run: a save Magento would
 * refuse (a sku too long, a negative price), a delete of a sku that does not exist. What its
 * operations reference (`requires`: linked products, a configurable's child, a product's media)
 * waits for the operations that create it.
 */
import { readFileSync } from 'node:fs';
import { definePlugin, OperationError, type PluginDefinition } from '../../src/plugin.ts';
import type { OperationArgs } from '../../src/generated/handlers.gen.ts';
import { deleteBatch, saveBatch } from './batch.ts';
import { checkSave, createInput, NO_SUCH_PRODUCT, putInput, saveProduct } from './product.ts';
import { deleteProduct, productExists } from './sql.ts';
import { requires } from './requires.ts';

export { productView, saveProduct, type ProductArgs } from './product.ts';

export const migrations: string[] = [readFileSync(new URL('./schema.sql', import.meta.url), 'utf8')];

// Typed by the generated map: the consumer delivers arguments as it says (src/plugins/coerce.ts).
export default definePlugin<OperationArgs>({
  name: 'Magento_Catalog',
  compatibility: '^1.0.0',
  // Creates name their entity in the body; the other routes are keyed by their path parameters.
  orderKeys: { PostV1Products: ['product.sku'] },
  // What its operations reference, so they wait for it (requires.ts).
  requires: requires as PluginDefinition<OperationArgs>['requires'],
  handlers: {
    PostV1Products: async (args, ctx) => {
      const { product, sku } = createInput(args);
      return saveProduct(product, sku, ctx);
    },
    PutV1ProductsSku: async (args, ctx) => {
      const { product, sku } = putInput(args);
      return saveProduct(product, sku, ctx);
    },
    DeleteV1ProductsSku: async (args, ctx) => {
      if (typeof args.sku !== 'string' || !(await deleteProduct(ctx.tx, args.sku))) {
        throw new OperationError(NO_SUCH_PRODUCT);
      }
      return true;
    },
  },
  validate: {
    PostV1Products: (args) => checkSave(createInput(args)),
    PutV1ProductsSku: (args) => checkSave(putInput(args)),
    DeleteV1ProductsSku: async (args, ctx) => {
      if (typeof args.sku !== 'string' || !(await productExists(ctx.tx, args.sku))) {
        throw new OperationError(NO_SUCH_PRODUCT);
      }
    },
  },
  batchHandlers: {
    PostV1Products: saveBatch(createInput),
    PutV1ProductsSku: saveBatch(putInput),
    DeleteV1ProductsSku: deleteBatch,
  },
});
