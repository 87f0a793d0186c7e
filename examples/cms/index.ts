/** Magento_Cms: PageRepository::save and ::deleteById for CMS pages. */
import { readFileSync } from 'node:fs';
import { definePlugin, OperationError } from '../../src/plugin.ts';
import type { OperationArgs } from '../../src/generated/handlers.gen.ts';
import { deletePage, savePage, type PageInput } from './sql.ts';

export const migrations: string[] = [readFileSync(new URL('./schema.sql', import.meta.url), 'utf8')];

const noSuchPage = (id: unknown) => new OperationError(`The CMS page with the "${String(id)}" ID doesn't exist.`);

// Typed by the generated map: the consumer delivers arguments as it says (src/plugins/coerce.ts).
export default definePlugin<OperationArgs>({
  name: 'Magento_Cms',
  compatibility: '^1.0.0',
  handlers: {
    PostV1CmsPage: async (args, ctx) => {
      const page = args.page;
      for (const field of ['identifier', 'title'] as const) {
        if (typeof page?.[field] !== 'string' || !page[field]) {
          throw new OperationError(`"${field}" is required. Enter and try again.`);
        }
      }
      const saved = await savePage(ctx.tx, page as PageInput);
      if (!saved) throw noSuchPage(page!.id);
      return saved;
    },
    DeleteV1CmsPagePageId: async (args, ctx) => {
      const id = Number(args.pageId);
      // Outside int4 no page can exist, and asking Postgres would abort the operation's transaction.
      if (!Number.isInteger(id) || id < 1 || id > 2147483647 || !(await deletePage(ctx.tx, id)))
        throw noSuchPage(args.pageId);
      return true;
    },
  },
});
