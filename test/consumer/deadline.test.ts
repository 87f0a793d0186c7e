/**
 * The deadlines of a batch on their one clock (src/consumer/deadline.ts): each handler is aborted
 * at its own deadline, a finished or waiting one never, and all of them at once when the batch's
 * claims could lapse.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineClock, HandlerDeadline, HandlerTimeoutError } from '../../src/consumer/deadline.ts';
import { waitFor } from '../support/wait.ts';

const abortedWith = (d: HandlerDeadline) =>
  new Promise<unknown>((resolve) => {
    d.onAbort = resolve;
  });

describe('handler deadlines on one clock', () => {
  it('aborts each running handler at its deadline, not one that finished or waits', async () => {
    const clock = new DeadlineClock();
    const first = new HandlerDeadline(40, clock);
    const finished = new HandlerDeadline(40, clock);
    const waiting = new HandlerDeadline(40, clock);
    const later = new HandlerDeadline(120, clock);
    const signal = first.signal;
    finished.finish();
    waiting.waiting();
    const started = performance.now();
    const reason = await abortedWith(first);
    assert.ok(reason instanceof HandlerTimeoutError);
    assert.ok(performance.now() - started >= 30, 'not before its time');
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    assert.equal(later.aborted, false);
    const laterReason = await abortedWith(later);
    assert.ok(laterReason instanceof HandlerTimeoutError);
    assert.ok(performance.now() - started >= 100, 'the later one at its own deadline');
    assert.equal(finished.aborted, false);
    assert.equal(waiting.aborted, false);
    // Its clock runs again once the wait is over, with what was left of it.
    waiting.entered();
    await waitFor(() => waiting.aborted, 2000, 'the waiting handler to time out once it runs again');
    assert.ok(waiting.reason instanceof HandlerTimeoutError);
  });

  it("aborts every running handler with the batch's reason, and none that finished", () => {
    const clock = new DeadlineClock();
    const running = [new HandlerDeadline(60_000, clock), new HandlerDeadline(60_000, clock)];
    const waiting = new HandlerDeadline(60_000, clock);
    waiting.waiting();
    const done = new HandlerDeadline(60_000, clock);
    done.finish();
    const lost = new Error('claims could lapse');
    clock.abortAll(lost);
    for (const d of [...running, waiting]) {
      assert.equal(d.aborted, true);
      assert.equal(d.reason, lost);
      assert.equal(d.signal.reason, lost);
    }
    assert.equal(done.aborted, false);
  });
});
