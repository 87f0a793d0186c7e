// A plugin of this project: it handles `POST /V1/cmsPage` by keeping each page's identifier and
// title, per store view, in a table of its own. Replace it with yours: `npx magento-async
// plugin:new <entity>` scaffolds one typed from the routes codegen generated.
import { definePlugin, OperationError } from 'magento-async/plugin';

interface PageArgs {
  page: { identifier: string; title: string };
}

export const migrations = [
  `CREATE TABLE IF NOT EXISTS local_page (identifier text NOT NULL, store_id int NOT NULL, title text NOT NULL,
     PRIMARY KEY (identifier, store_id))`,
];

export default definePlugin({
  name: 'Local_Pages',
  compatibility: '^1.0.0',
  handlers: {
    async PostV1CmsPage({ page }: PageArgs, ctx) {
      if (/\s/.test(page.identifier)) throw new OperationError('A page identifier has no spaces', { code: 400 });
      await ctx.tx.query(
        `INSERT INTO local_page (identifier, store_id, title) VALUES ($1, $2, $3)
         ON CONFLICT (identifier, store_id) DO UPDATE SET title = EXCLUDED.title`,
        [page.identifier, ctx.store.id, page.title],
      );
      return { identifier: page.identifier, title: page.title };
    },
  },
});
