/**
 * `npm run test:timings`: a node:test reporter that prints the slowest test files (each file's
 * wall time in its own process) and the run's wall time, so that a slow suite shows where its time
 * goes. The spec or dot reporter runs beside it for the verdict.
 */
import { relative } from 'node:path';
import { GROUP_FILE } from './in-process.ts';

interface Event {
  type: string;
  data: { file?: string; name?: string; nesting?: number; details?: { duration_ms?: number } };
}

const SHOWN = Number(process.env.TEST_TIMINGS_TOP ?? 25);

export default async function* timings(source: AsyncIterable<Event>): AsyncGenerator<string> {
  const started = Date.now();
  const files = new Map<string, number>();
  for await (const event of source) {
    const { file, name, nesting, details } = event.data;
    // A file run in its own process is reported as one top-level test named for the file; a file
    // run in a shared process (test/support/in-process.ts) as a top-level suite named for it.
    if (event.type !== 'test:complete' || nesting !== 0 || !file || !name) continue;
    const where = relative(process.cwd(), file);
    if ((name === where && name !== GROUP_FILE) || (where === GROUP_FILE && name.endsWith('.test.ts'))) {
      files.set(name, details?.duration_ms ?? 0);
    }
  }
  const rows = [...files].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
  const width = Math.max(...rows.slice(0, SHOWN).map(([name]) => name.length), 4);
  yield (
    `\nslowest test files (of ${rows.length}; wall ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
    `sum of files ${(total / 1000).toFixed(1)} s)\n`
  );
  for (const [name, ms] of rows.slice(0, SHOWN)) {
    yield `${name.padEnd(width)}  ${(ms / 1000).toFixed(1).padStart(7)} s  ${((100 * ms) / total).toFixed(1).padStart(5)} %\n`;
  }
}
