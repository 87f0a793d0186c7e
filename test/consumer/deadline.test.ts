/**
 * The deadlines of a batch on their one clock (src/consumer/deadline.ts): each handler is aborted
 * at its own deadline, a finished or waiting one never, and all of them at once when the batch's
 * claims could lapse.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineClock, HandlerDeadline, HandlerTimeoutError } from '../../src/consumer/deadline.ts';

/** When `d` aborted (performance.now()) and why. */
const aborted = (d: HandlerDeadline) =>
  new Promise<{ at: number; reason: unknown }>((resolve) => {
    d.onAbort = (reason) => resolve({ at: performance.now(), reason });
  });

describe('handler deadlines on one clock', () => {
  // Only lower bounds on when each aborts: a deadline must never fire early, while a busy machine
  // may run any timer late (two deadlines then expire in one turn, which is still each at its own).
  it('aborts each running handler at its own deadline, never before it, and not one that finished or waits', async () => {
    const clock = new DeadlineClock();
    const started = performance.now();
    const first = new HandlerDeadline(40, clock);
    const finished = new HandlerDeadline(40, clock);
    const waiting = new HandlerDeadline(40, clock);
    const later = new HandlerDeadline(120, clock);
    const signal = first.signal;
    finished.finish();
    waiting.waiting();
    const [a, b] = await Promise.all([aborted(first), aborted(later)]);
    assert.ok(a.reason instanceof HandlerTimeoutError);
    assert.ok(a.at - started >= 40, `not before its time (${a.at - started} ms)`);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, a.reason);
    assert.ok(b.reason instanceof HandlerTimeoutError);
    assert.ok(b.at - started >= 120, `the later one not before its own deadline (${b.at - started} ms)`);
    assert.equal(finished.aborted, false);
    assert.equal(waiting.aborted, false);
    // Its clock runs again once the wait is over, with what was left of it (all but what it ran
    // before it waited: microseconds).
    const resumed = aborted(waiting);
    const entered = performance.now();
    waiting.entered();
    const c = await resumed;
    assert.ok(c.reason instanceof HandlerTimeoutError);
    assert.ok(c.at - entered >= 35, `the waiting one with what was left (${c.at - entered} ms)`);
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
