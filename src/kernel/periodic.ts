/**
 * A task run every `intervalMs`, never twice at once (a slow round skips the ticks it overlaps),
 * on an unref'd timer so it never keeps a process alive; `stop` waits for a round in progress.
 * The task handles its own errors: what it throws here is lost.
 */
export interface Periodic {
  /** Runs a round now, or joins the one in progress. */
  run(): Promise<void>;
  stop(): Promise<void>;
}

export function every(intervalMs: number, task: () => Promise<void>): Periodic {
  let running: Promise<void> | null = null;
  const run = (): Promise<void> =>
    (running ??= task()
      .catch(() => {})
      .finally(() => {
        running = null;
      }));
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
