/**
 * The CLI as the commands' tests drive it: in-process with its output captured (`run`), and
 * `queue:consumers:start` as an operator runs it, a process of its own with a config file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_LOCATIONS } from './project.ts';

const CLI = fileURLToPath(new URL('../../bin/magento-async.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process against the test schema, capturing what it writes. */
export async function run(env: Record<string, string>, argv: string[]): Promise<Run> {
  // Loaded on first use: a test that only starts the CLI as a process never compiles it itself.
  const { main } = await import('../../src/cli.ts');
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

/**
 * A config file for the test's schemas as an operator writes one: the suite's routes and plugins
 * (TEST_LOCATIONS), warn-level logs, and `overrides` (upstream, consumer, plugins, metrics…) on
 * top. Its folder goes when the test ends.
 */
export function consumerConfig(
  t: TestContext,
  db: { schema: string; bossSchema: string },
  overrides: Record<string, unknown> = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'consumer-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      ...TEST_LOCATIONS,
      schema: db.schema,
      bossSchema: db.bossSchema,
      logLevel: 'warn',
      ...overrides,
    }),
  );
  return file;
}

export interface ConsumerCommand {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Sends `signal` to its whole process group, as a terminal's Ctrl-C or a supervisor does. */
  signal(signal: NodeJS.Signals): void;
  /**
   * SIGKILLs its process group if it still runs and waits for the exit (the test's own `after` does
   * it too; a hook added earlier, a schema's drop, calls it first so it never waits on the consumer).
   */
  kill(): Promise<void>;
}

/**
 * `magento-async <args>` (`queue:consumers:start …`) run with `configFile`, in a process group of
 * its own: `signal` reaches whatever it started too, and if the test ends with it still running,
 * the whole group is killed (SIGKILL) and waited for.
 */
export function startConsumerCommand(
  t: TestContext,
  db: { url: string },
  configFile: string,
  args: string[],
): ConsumerCommand {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, MAGENTO_ASYNC_CONFIG: configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // The group is gone already.
    }
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      signal('SIGKILL');
      await exited;
    }
  };
  t.after(kill);
  return { child, stdout: () => stdout, stderr: () => stderr, exited, signal, kill };
}
