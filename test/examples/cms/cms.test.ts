import { test } from 'node:test';
import assert from 'node:assert/strict';
import cms, * as cmsModule from '../../../examples/cms/index.ts';
import { OperationError } from '../../../src/plugin.ts';
import { NO_CODE } from '../../plugins/fixtures.ts';
import { pluginDatabase } from '../support.ts';

const h = cms.handlers!;

test("CMS pages: save, then the seed's DELETE bulk with one missing id", async (t) => {
  const { run } = await pluginDatabase(t, 'cms', [cmsModule]);
  const ids: number[] = [];
  for (const identifier of ['about', 'faq']) {
    const page = (await run(NO_CODE, async (ctx) =>
      h.PostV1CmsPage!({ page: { identifier, title: identifier.toUpperCase(), content: '<p/>' } }, ctx),
    )) as Record<string, unknown>;
    assert.equal(page.identifier, identifier);
    assert.equal(page.active, true);
    ids.push(page.id as number);
  }
  const outcomes: string[] = [];
  for (const pageId of [ids[0]!, 999, ids[1]!, 'abc', 99999999999]) {
    try {
      outcomes.push(
        `1 ${String(await run(NO_CODE, async (ctx) => h.DeleteV1CmsPagePageId!({ pageId } as { pageId: number }, ctx)))}`,
      );
    } catch (error) {
      assert.ok(error instanceof OperationError);
      outcomes.push(`3 ${error.message}`);
    }
  }
  assert.deepEqual(outcomes, [
    '1 true',
    '3 The CMS page with the "999" ID doesn\'t exist.',
    '1 true',
    '3 The CMS page with the "abc" ID doesn\'t exist.',
    '3 The CMS page with the "99999999999" ID doesn\'t exist.',
  ]);
  const left = await run(
    NO_CODE,
    async (ctx) => (await ctx.tx.query('SELECT count(*)::int AS n FROM cms_page')).rows[0]!.n,
  );
  assert.equal(left, 0);
});
