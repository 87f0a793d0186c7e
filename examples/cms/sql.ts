/**
 * Every statement of the CMS plugin. Tables are unqualified: each operation's search path has the
 * plugin's own schema, where `migrations` created them (src/plugins/migrations.ts).
 */
import type { components } from '../../src/generated/types.gen.ts';
import type { Queryable } from '../../src/plugin.ts';

/** The page as the spec declares it (`cms-data-page-interface`), so the two cannot drift apart. */
export type PageInput = components['schemas']['cms-data-page-interface'];

const COLUMNS = `page_id AS id, identifier, title, page_layout, meta_title, content_heading, content, sort_order,
  to_char(creation_time, 'YYYY-MM-DD HH24:MI:SS') AS creation_time,
  to_char(update_time, 'YYYY-MM-DD HH24:MI:SS') AS update_time, is_active AS active`;

/** Inserts, or updates the page with `id`; null when `id` names no page. */
export async function savePage(tx: Queryable, p: PageInput): Promise<Record<string, unknown> | null> {
  const values = [
    p.identifier,
    p.title,
    p.page_layout ?? null,
    p.meta_title ?? null,
    p.content_heading ?? null,
    p.content ?? null,
    p.sort_order ?? null,
    p.active ?? null,
  ];
  const { rows } =
    p.id === undefined
      ? await tx.query(
          `INSERT INTO cms_page (identifier, title, page_layout, meta_title, content_heading, content, sort_order, is_active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, true)) RETURNING ${COLUMNS}`,
          values,
        )
      : await tx.query(
          `UPDATE cms_page SET identifier = $1, title = $2, page_layout = coalesce($3, page_layout),
             meta_title = coalesce($4, meta_title), content_heading = coalesce($5, content_heading),
             content = coalesce($6, content), sort_order = coalesce($7, sort_order),
             is_active = coalesce($8, is_active), update_time = now() AT TIME ZONE 'UTC'
           WHERE page_id = $9 RETURNING ${COLUMNS}`,
          [...values, p.id],
        );
  return rows[0] ?? null;
}

export async function deletePage(tx: Queryable, pageId: number): Promise<boolean> {
  const { rowCount } = await tx.query('DELETE FROM cms_page WHERE page_id = $1', [pageId]);
  return (rowCount ?? 0) > 0;
}
