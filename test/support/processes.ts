/**
 * Real CLI processes for journey and doc tests: each in its own process group (so a stop reaches
 * npm and node together, as a terminal's Ctrl-C does, and a kill leaves nothing behind), with
 * its output collected and waited on by pattern.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.ts';

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (or stderr), failing after `ms` or on exit. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  exited: Promise<number | string | null>;
  /** Signals the whole group and waits for the exit (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string | null>;
}

export function startCli(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): CliProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string | null>((done) =>
    child.on('exit', (code, signal) => done(code ?? signal)),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, ms = 60_000) {
      let found: RegExpExecArray | null = null;
      const seen = () => (found = pattern.exec(out) ?? pattern.exec(err)) !== null || gone;
      await waitFor(seen, ms, `${pattern}`).catch(() => {});
      if (found) return found;
      throw new Error(
        `${gone ? 'exited' : `no ${pattern} within ${ms} ms`}: ${command} ${args.join(' ')}\n--- stdout\n${out}\n--- stderr\n${err}`,
      );
    },
    async stop(signal = 'SIGINT', graceMs = 20_000) {
      if (gone) return exited;
      signalGroup(signal);
      // eslint-disable-next-line no-restricted-syntax -- a watchdog: a group that ignores the signal is killed
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
        // Anything left in the group (a grandchild that ignored the signal) goes too.
        signalGroup('SIGKILL');
      }
    },
  };
}

/** Runs a command to its end; resolves with its exit code and output. */
export async function runCli(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  const p = startCli(command, args, options);
  // eslint-disable-next-line no-restricted-syntax -- a watchdog: a command that never ends is killed
  const timer = setTimeout(() => void p.stop('SIGKILL'), options.timeoutMs ?? 120_000);
  try {
    const code = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  } finally {
    clearTimeout(timer);
  }
}
