import { test } from 'node:test';
import assert from 'node:assert/strict';
import { every } from '../../src/kernel/periodic.ts';

test('a periodic task never runs twice at once, and stop waits for the round in progress', async () => {
  let rounds = 0;
  let finish!: () => void;
  const task = () => {
    rounds++;
    return new Promise<void>((resolve) => (finish = resolve));
  };
  // An hour: only run() starts rounds here.
  const periodic = every(3_600_000, task);
  const first = periodic.run();
  assert.equal(periodic.run(), first, 'a second run joins the first');
  assert.equal(rounds, 1);
  let stopped = false;
  const stopping = periodic.stop().then(() => (stopped = true));
  // Every pending callback runs before this resumes: a stop that did not wait would be done.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped, false, 'stop waits for the round in progress');
  finish();
  await stopping;
  assert.equal(stopped, true);
});

test("a failing round is the task's to report; the next round runs", async () => {
  let rounds = 0;
  const periodic = every(3_600_000, async () => {
    rounds++;
    throw new Error('boom');
  });
  await periodic.run();
  await periodic.run();
  assert.equal(rounds, 2);
  await periodic.stop();
});
