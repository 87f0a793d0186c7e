/**
 * Tests wait for conditions, never for time: the lint rule (eslint.config.js) that finds a fixed
 * sleep anywhere under test/ still finds each way of writing one, and leaves a condition wait alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { PROJECT_ROOT } from './support/checkout.ts';

const eslint = new ESLint({ cwd: PROJECT_ROOT });

const cases: [string, string, boolean][] = [
  ['a promise around setTimeout', 'await new Promise((r) => setTimeout(r, 200));', true],
  ['a promise around setTimeout (resolve)', 'await new Promise((resolve) => { setTimeout(resolve, 50); });', true],
  ['timers/promises', "import { setTimeout as sleep } from 'node:timers/promises';\nawait sleep(20);", true],
  ['timers/promises without node:', "import { setTimeout as sleep } from 'timers/promises';\nawait sleep(20);", true],
  ['an action put off by a time', "setTimeout(() => drive.release('open'), 300);", true],
  ['a poll on an interval', 'setInterval(() => void check(), 100);', true],
  ['a condition wait', "await waitFor(() => done, 5000, 'done');", false],
  ['slowness under test', 'await simulatedWork(20);', false],
];

for (const [name, code, flagged] of cases) {
  test(`${name}: ${flagged ? 'refused' : 'allowed'}`, async () => {
    const [result] = await eslint.lintText(`${code}\n`, { filePath: `${PROJECT_ROOT}/test/example/sleep.test.ts` });
    const rules = result!.messages.map((m) => m.ruleId);
    const sleeps = rules.filter((r) => r === 'no-restricted-syntax' || r === 'no-restricted-imports');
    assert.equal(sleeps.length > 0, flagged, `${code}: ${JSON.stringify(result!.messages)}`);
  });
}

test('the one module that may pause is test/support/wait.ts', async () => {
  const [result] = await eslint.lintFiles([`${PROJECT_ROOT}/test/support/wait.ts`]);
  assert.deepEqual(result!.messages, []);
});
