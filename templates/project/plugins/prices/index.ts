// A plugin of this project: it handles `PUT /V1/products/{sku}` by keeping the price it was sent in
// a table of its own. Replace it with yours: `npx magento-async plugin:new <entity>` scaffolds one
// typed from the routes codegen generated.
import { definePlugin, OperationError } from 'magento-async/plugin';

interface ProductArgs {
  sku: string;
  product: { sku?: string; price?: number };
}

export const migrations = [
  `CREATE TABLE IF NOT EXISTS local_price (sku text NOT NULL, store_id int NOT NULL, price numeric NOT NULL,
     PRIMARY KEY (sku, store_id))`,
];

export default definePlugin({
  name: 'Local_Prices',
  compatibility: '^1.0.0',
  handlers: {
    async PutV1ProductsSku(args: ProductArgs, ctx) {
      if (typeof args.product.price !== 'number') throw new OperationError('Send a price', { code: 400 });
      await ctx.tx.query(
        `INSERT INTO local_price (sku, store_id, price) VALUES ($1, $2, $3)
         ON CONFLICT (sku, store_id) DO UPDATE SET price = EXCLUDED.price`,
        [args.sku, ctx.store.id, args.product.price],
      );
      return { sku: args.sku, price: args.product.price };
    },
  },
});
