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
  ['setTimeout through globalThis', 'await new Promise((r) => globalThis.setTimeout(r, 200));', true],
  ['setTimeout through node:timers', "import timers from 'node:timers';\ntimers.setTimeout(go, 200);", true],
  ['setTimeout imported from node:timers', "import { setTimeout as later } from 'node:timers';\nlater(go, 200);", true],
  ['an AbortSignal.timeout awaited as an event', "await once(AbortSignal.timeout(200), 'abort');", true],
  ['a thread blocked for a time', 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);', true],
  ['a sleep command', "execSync('sleep 1');", true],
  ['a condition wait', "await waitFor(() => done, 5000, 'done');", false],
  ['slowness under test', 'await simulatedWork(20);', false],
  ['a handler stalled until the test lets it go', 'blockUntilReleased(flag);', false],
  ['a watchdog signal on a request', 'await fetch(url, { signal: AbortSignal.timeout(5000) });', false],
];

for (const [name, code, flagged] of cases) {
  // In a TypeScript test and in a JavaScript file under test/ (fixtures, child processes).
  for (const ext of ['ts', 'mjs']) {
    test(`${name} (.${ext}): ${flagged ? 'refused' : 'allowed'}`, async () => {
      const [result] = await eslint.lintText(`${code}\n`, {
        filePath: `${PROJECT_ROOT}/test/example/sleep.test.${ext}`,
      });
      const rules = result!.messages.map((m) => m.ruleId);
      const sleeps = rules.filter((r) => r === 'no-restricted-syntax' || r === 'no-restricted-imports');
      assert.equal(sleeps.length > 0, flagged, `${code}: ${JSON.stringify(result!.messages)}`);
    });
  }
}

test('the one module that may pause is test/support/wait.ts', async () => {
  const [result] = await eslint.lintFiles([`${PROJECT_ROOT}/test/support/wait.ts`]);
  assert.deepEqual(result!.messages, []);
});
