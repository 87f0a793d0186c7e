/** Consumer processes (fixtures/worker.ts) for the crash, multi-process and restart tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

export interface Worker {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the worker wrote to stderr (its pino log lines) so far. */
  stderr(): string;
  /** Lets a worker stalled with STALL_AFTER go on. */
  release(): void;
}

export async function startWorker(
  db: { url: string; schema: string; bossSchema: string },
  sleepMs: number,
  batchSize = 20,
  concurrency = 2,
  env: Record<string, string> = {},
): Promise<Worker> {
  const child = spawn(
    process.execPath,
    [WORKER, db.schema, db.bossSchema, String(sleepMs), String(batchSize), String(concurrency)],
    {
      env: { ...process.env, DATABASE_URL: db.url, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${stderr}`)));
  });
  return { child, exited, stderr: () => stderr, release: () => void child.stdin!.write('\n') };
}
