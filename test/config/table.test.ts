import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { join } from 'node:path';
import { renderConfigTable, withConfigTable } from '../../src/config/table.ts';

test("the README's configuration table is the one the schema renders (npm run config:table rewrites it)", () => {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  assert.equal(withConfigTable(readme), readme, 'README.md is stale: run `npm run config:table`');
});

test('each setting is a row: key, environment variable, default (or the words for a derived one), meaning', () => {
  const table = renderConfigTable();
  const cases: [key: string, row: RegExp][] = [
    ['port', /^\| `port` \(`PORT`\) \| 8080 \| /m],
    ['schema', /^\| `schema` \(`MAGENTO_ASYNC_SCHEMA`\) \| `magento_async` \| /m],
    ['consumer.retryLimit', /^\| `consumer\.retryLimit` \| 5 \| /m],
    ['upstream.baseUrl', /^\| `upstream\.baseUrl` \| none \| /m],
    ['webhooks.integrations', /^\| `webhooks\.integrations` \| `\{\}` \| /m],
    ['plugins.examples', /^\| `plugins\.examples` \(`MAGENTO_ASYNC_PLUGIN_EXAMPLES`, comma-separated\) \| none/m],
    ['bossSchema', /^\| `bossSchema` \| `<schema>_boss` \| /m],
  ];
  for (const [key, row] of cases) assert.match(table, row, key);
});
