/**
 * How a test waits: for a condition (a row, a counter, a line of output, a notice), with a bounded
 * timeout, never for a fixed time. A test that proves "nothing happened" first waits for the event
 * that would have made it happen, then checks.
 *
 * This is the one module under test/ that may set a timer to pause or block a thread:
 * eslint.config.js forbids it elsewhere (test/no-fixed-sleeps.test.ts checks the rule still catches
 * every way of writing one).
 */

/**
 * Resolves with the first truthy value `check` returns, asking again every `intervalMs`; fails
 * after `timeoutMs` with `what` and the last value seen.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(intervalMs);
  }
}

/**
 * Work that takes time, in a handler or a fake upstream (a slow call, a stalled handler): what the
 * code under test must cope with, never a way for the test to wait for it. `unref`: it does not
 * keep the process alive (an answer nobody waits for any more).
 */
export function simulatedWork(ms: number, options: { signal?: AbortSignal; unref?: boolean } = {}): Promise<void> {
  return pause(ms, options.signal, options.unref);
}

/**
 * Blocks the whole thread (a handler stuck in a synchronous loop: no timer, no I/O, no heartbeat
 * runs meanwhile), the fault a stalled-worker test needs, until another thread sets `flag[0]` and
 * notifies it: the stall lasts until the test lets it go, not for a time.
 */
export function blockUntilReleased(flag: Int32Array): void {
  Atomics.wait(flag, 0, 0);
}

function pause(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    if (unref) timer.unref();
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
