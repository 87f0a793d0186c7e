/**
 * The per-upstream limiter on its own: slots in flight, starts per second, the upstream's own
 * back-off, and callers that give up. Times are only ever lower bounds (a call never starts before
 * it may); how soon it starts after that depends on the machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamBackedOff, UpstreamLimiter, type LimiterClock } from '../../src/consumer/upstream-limit.ts';
import { simulatedWork } from '../support/wait.ts';

/** Runs `calls` jobs of `ms` each through the limiter at once; returns start times and the peak in flight. */
async function drive(limiter: UpstreamLimiter, calls: number, ms: number) {
  let running = 0;
  let peak = 0;
  const starts: number[] = [];
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: calls }, async (_, i) => {
      const release = await limiter.acquire();
      starts.push(performance.now());
      order.push(i);
      peak = Math.max(peak, ++running);
      await simulatedWork(ms);
      running--;
      release();
    }),
  );
  return { starts, order, peak };
}

test('never more calls in flight than maxInFlight, and every caller gets its turn in arrival order', async () => {
  const limiter = new UpstreamLimiter({ maxInFlight: 3, maxPerSecond: null });
  const { peak, order } = await drive(limiter, 20, 5);
  assert.equal(peak, 3);
  assert.deepEqual(
    order,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(limiter.inFlight, 0);
  assert.equal(limiter.waiting, 0);
});

/**
 * A clock the test moves: the limiter's timers run when their time comes, and what each run
 * starts is seen at that time (the event loop turns after each one).
 */
function manualClock(): LimiterClock & { advanceTo(to: number): Promise<void> } {
  let t = 0;
  const due: { at: number; run: () => void }[] = [];
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => t,
    after(ms, run) {
      due.push({ at: t + ms, run });
    },
    async advanceTo(to) {
      await turn();
      for (;;) {
        due.sort((a, b) => a.at - b.at);
        if (!due[0] || due[0].at > to) break;
        const next = due.shift()!;
        t = Math.max(t, next.at);
        next.run();
        await turn();
      }
      t = to;
      await turn();
    },
  };
}

test('never more starts in any second than maxPerSecond, each as soon as the last second allows (a clock the test moves)', async () => {
  const clock = manualClock();
  const limiter = new UpstreamLimiter({ maxInFlight: 100, maxPerSecond: 5, clock });
  const starts: number[] = [];
  const call = (n: number) => {
    for (let i = 0; i < n; i++) {
      void limiter.acquire().then((release) => {
        starts.push(clock.now());
        release();
      });
    }
  };
  // Twelve at once: five a second.
  call(12);
  await clock.advanceTo(5000);
  assert.deepEqual(starts, [0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 2000, 2000]);
  // Five late in one second and five at the start of the next: a sliding second, not the clock's
  // seconds, so the second five wait until the first five are a second old.
  starts.length = 0;
  await clock.advanceTo(9900);
  call(5);
  await clock.advanceTo(10_000);
  call(5);
  await clock.advanceTo(15_000);
  assert.deepEqual(starts, [9900, 9900, 9900, 9900, 9900, 10_900, 10_900, 10_900, 10_900, 10_900]);
  assert.equal(limiter.waiting, 0);
});

test('a release given twice frees one slot only', async () => {
  const limiter = new UpstreamLimiter({ maxInFlight: 1, maxPerSecond: null });
  const release = await limiter.acquire();
  const second = limiter.acquire();
  release();
  release();
  await second;
  assert.equal(limiter.inFlight, 1);
  const third = limiter.acquire();
  assert.equal(limiter.waiting, 1, 'the double release did not let a third call in');
  (await second)();
  (await third)();
});

test('a back-off holds every call until it ends', async () => {
  const limiter = new UpstreamLimiter({ maxInFlight: 10, maxPerSecond: null });
  const from = performance.now();
  limiter.backOff(1);
  const { starts } = await drive(limiter, 4, 1);
  for (const s of starts) assert.ok(s - from >= 999, `a call started ${s - from} ms into a 1 s back-off`);
});

test('a back-off longer than a call may wait refuses new and waiting calls at once, with the seconds left', async () => {
  const limiter = new UpstreamLimiter({ maxInFlight: 1, maxPerSecond: null, maxBackOffWaitMs: 500 });
  const held = await limiter.acquire();
  const waiting = limiter.acquire();
  limiter.backOff(30);
  await assert.rejects(waiting, (e: unknown) => e instanceof UpstreamBackedOff && e.retryAfterSeconds === 30);
  await assert.rejects(limiter.acquire(), (e: unknown) => e instanceof UpstreamBackedOff && e.retryAfterSeconds <= 30);
  held();
  assert.equal(limiter.waiting, 0);
});

test('a caller whose signal aborts leaves the queue with its reason, and takes no slot', async () => {
  const limiter = new UpstreamLimiter({ maxInFlight: 1, maxPerSecond: null });
  const held = await limiter.acquire();
  const controller = new AbortController();
  const gaveUp = limiter.acquire(controller.signal);
  const next = limiter.acquire();
  controller.abort(new Error('handler timed out'));
  await assert.rejects(gaveUp, /handler timed out/);
  held();
  (await next)();
  assert.equal(limiter.inFlight, 0);
  await assert.rejects(limiter.acquire(AbortSignal.abort(new Error('already'))), /already/);
});

test('limits are checked', () => {
  assert.throws(() => new UpstreamLimiter({ maxInFlight: 0, maxPerSecond: null }), RangeError);
  assert.throws(() => new UpstreamLimiter({ maxInFlight: 1, maxPerSecond: 0 }), RangeError);
});
