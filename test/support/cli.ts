/** Runs the CLI in-process, capturing what it writes: the commands' tests drive it this way. */
import { main } from '../../src/cli.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process against the test schema, capturing what it writes. */
export async function run(env: Record<string, string>, argv: string[]): Promise<Run> {
  const saved = { ...process.env };
  const write = { out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  Object.assign(process.env, env);
  // Only strings are the CLI's output: the test runner reports from this same process with binary
  // chunks, which must still get through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string'
      ? ((stdout += chunk), true)
      : write.out.call(process.stdout, chunk, ...rest)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string'
      ? ((stderr += chunk), true)
      : write.err.call(process.stderr, chunk, ...rest)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    process.exitCode = undefined;
  }
}
