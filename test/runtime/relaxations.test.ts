/** Developer mode and the settings that relax production behaviour are announced at start, never silent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { relaxations } from '../../src/runtime/relaxations.ts';
import { startTestServer } from '../support/server.ts';

const TRACE = 'error answers carry a "trace" with the stack and internal messages';
const BEARER_DEV =
  "integrations' OAuth access tokens are accepted as bearer tokens, without a signature (oauth.integrationAsBearer follows developer mode)";
const BEARER =
  "integrations' OAuth access tokens are accepted as bearer tokens, without a signature (oauth.integrationAsBearer)";
const DASHBOARD = 'the bulk dashboard is served';

const cases: [string, Record<string, string>, object, string[]][] = [
  ['production defaults', {}, {}, []],
  ['developer mode', { MAGENTO_ASYNC_MODE: 'developer' }, {}, [TRACE, BEARER_DEV, DASHBOARD]],
  [
    'developer mode without integration-as-bearer',
    { MAGENTO_ASYNC_MODE: 'developer' },
    { oauth: { integrationAsBearer: false } },
    [TRACE, DASHBOARD],
  ],
  ['integration-as-bearer in production', {}, { oauth: { integrationAsBearer: true } }, [BEARER]],
];

for (const [name, env, overrides, expected] of cases) {
  test(`relaxations: ${name}`, () => {
    assert.deepEqual(relaxations(loadConfig({ env, overrides })), expected);
  });
}

test('a developer-mode server lists its relaxations in one warning at start', async () => {
  const warnings: { obj: unknown; msg?: string }[] = [];
  const log = {
    info() {},
    debug() {},
    error() {},
    warn: (obj: unknown, msg?: string) => warnings.push({ obj, msg }),
  };
  const server = await startTestServer('relaxations', { mode: 'developer' }, { log });
  try {
    const block = warnings.filter((w) => w.msg?.startsWith('developer mode: '));
    assert.equal(block.length, 1);
    assert.deepEqual((block[0]!.obj as { effects: string[] }).effects, [TRACE, BEARER_DEV, DASHBOARD]);
    assert.match(block[0]!.msg!, /Never where clients are untrusted\.$/);
  } finally {
    await server.stop();
  }
});
