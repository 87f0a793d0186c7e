/**
 * Open-loop arrivals for latency measurements: a Poisson process of a given rate, from a seeded
 * generator so every run (and both sides of a comparison) offers the same schedule.
 */
import { mulberry32 } from '../../test/support/prng.ts';

/** Calls `start(scheduledAt)` at each arrival until `until` (performance.now() ms); waits for all. */
export async function poissonArrivals(
  ratePerSecond: number,
  from: number,
  until: number,
  start: (scheduledAt: number) => Promise<void>,
): Promise<void> {
  const random = mulberry32(0x14d);
  const inFlight = new Set<Promise<void>>();
  let next = from;
  while (next < until) {
    const wait = next - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const run = start(next).finally(() => inFlight.delete(run));
    inFlight.add(run);
    // Exponential inter-arrival times make a Poisson process.
    next += (-Math.log(1 - random()) / ratePerSecond) * 1000;
  }
  await Promise.all(inFlight);
}

/** Percentile of sorted values (nearest rank, as the load generator reports). */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}
