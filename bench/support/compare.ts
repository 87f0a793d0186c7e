/**
 * Same-run comparison of several ways to process n operations: each side runs once per round, the
 * order alternating between rounds so that neither side always runs on a warmer cache, and the
 * rates print beside the first side's (the baseline) as a ratio — the only figure that carries
 * over between machines.
 */
export interface Side {
  label: string;
  /** Processes n operations once and returns the milliseconds it took. */
  run: () => Promise<number>;
}

export async function compareSides(title: string, n: number, rounds: number, sides: Side[]): Promise<void> {
  console.log(`${title}: ${n} operations per measurement, ${rounds} rounds`);
  const total = sides.map(() => 0);
  const perRound: number[][] = sides.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
    for (const i of order) {
      const ms = await sides[i]!.run();
      total[i]! += ms;
      perRound[i]!.push((n / ms) * 1000);
    }
  }
  const width = Math.max(...sides.map((s) => s.label.length)) + 2;
  for (let i = 0; i < sides.length; i++) {
    const rates = perRound[i]!.map((x) => x.toFixed(0)).join(' / ');
    console.log(
      `  ${sides[i]!.label.padEnd(width)} ${((n * rounds * 1000) / total[i]!).toFixed(0).padStart(6)} ops/s ` +
        `(rounds ${rates})` +
        (i === 0 ? '  baseline' : `  ${(total[0]! / total[i]!).toFixed(2)}x`),
    );
  }
}
