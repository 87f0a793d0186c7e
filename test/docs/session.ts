/**
 * One Markdown file's blocks run as a reader would, in order, in a fresh copy of the checkout
 * (src/generated, plugins and var/ start as a clone has them; no DATABASE_URL, so `npm start`
 * runs its embedded database). What the reader's terminal would carry from block to block does:
 * exported variables, the working directory's files, and the instance `npm start` runs.
 *
 * Shell blocks: bash with `set -e -o pipefail`; `curl` fails on an HTTP error (as if written
 * `curl --fail-with-body`), so an example answering 4xx fails its block; `magento-async` is the
 * checkout's CLI (`npx magento-async` works too: a page's first `npx <command>` runs npm's npx as
 * written, a later one of the same command in the checkout's or project's folder runs the local bin
 * that first one resolved to, as npx would, without npx's start-up). Substituted before running:
 *   - `http://127.0.0.1:8080` → the running instance's URL (it listens on a free port);
 *   - `<bulk_uuid>` → the last `"bulk_uuid":"…"` a `curl` printed (this block or an earlier one);
 *   - `$TOKEN` is set to the instance's development token (`var/dev-token`).
 * Code blocks: TypeScript is written to its path (first line `// <path>` or `file="…"`) and the
 * checkout is type-checked with them; a plugin must also load beside the shipped plugins. JSON
 * must parse.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createPool, databaseUrl, ident } from '../../src/db/pool.ts';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { copyCheckout, PROJECT_ROOT, type Checkout } from '../support/checkout.ts';
import { freshProject, machineEnvironment } from '../support/package.ts';
import type { Block } from './blocks.ts';
import { waitFor } from '../support/wait.ts';
import { forgetSchema, noteSchema } from '../support/leftovers.ts';

export const SHARED_DIR = join(PROJECT_ROOT, '../shared');

// curl's answers are also logged, so `<bulk_uuid>` can name one printed earlier in the same block.
const PRELUDE = `set -e -o pipefail
curl() {
  # --fail-with-body unless the block asks for --fail itself (curl refuses both).
  local fail=--fail-with-body a
  for a in "$@"; do case "$a" in --fail|--fail-with-body) fail= ;; --*) ;; -*f*) [[ "$a" =~ ^-[A-Za-z]+$ ]] && fail= ;; esac; done
  # Through a file, so a reader that stops early (grep -q) sees the same as with curl alone.
  local body rc; body=$(mktemp)
  command curl --silent --show-error $fail "$@" > "$body" && rc=0 || rc=$?
  cat "$body" >> "$DOC_TEST_LOG"
  ( trap '' PIPE; cat "$body"; echo ) 2>/dev/null || true
  rm -f "$body"; return $rc
}
doc_bulk_uuid() { grep -o '"bulk_uuid":"[0-9a-f-]\\{36\\}"' "$DOC_TEST_LOG" | tail -1 | cut -d'"' -f4; }
npx() {
  # The page's first \`npx <command>\` runs npm's npx as written; a later one of the same command,
  # in the checkout or project folder, runs the local bin the first resolved to (what npx runs
  # there), without npx's own start-up (0.7 s CPU each).
  local seen="$DOC_TEST_NPX/$1" bin
  if [[ "$1" =~ ^[a-z][a-z0-9._-]*$ && "$PWD" == "$DOC_TEST_ROOT" && -f "$seen" ]]; then
    bin=$(< "$seen"); shift; "$bin" "$@"; return
  fi
  command npx "$@" || return
  [[ "$1" =~ ^[a-z][a-z0-9._-]*$ && "$PWD" == "$DOC_TEST_ROOT" ]] || return 0
  bin=$(type -P -- "$1" || true)
  if [[ "$bin" == "$DOC_TEST_ROOT/node_modules/.bin/$1" || "$bin" == "\${DOC_TEST_ROOT%/*}/bin/$1" ]]; then
    mkdir -p "$DOC_TEST_NPX" && printf '%s' "$bin" > "$seen"
  fi
}
`;

interface Background {
  block: Block;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | string | null>;
}

export interface BlockResult {
  code: number | string | null;
  output: string;
}

export class DocSession {
  private checkout: Checkout | null = null;
  private readonly state: string[] = [];
  private background: Background | null = null;
  private instance: { url: string; token: string } | null = null;
  private readonly env: Record<string, string | undefined>;
  private readonly schema: string;

  constructor() {
    const env: Record<string, string | undefined> = { ...process.env, PORT: '0', LOG_LEVEL: 'warn' };
    for (const key of ['DATABASE_URL', 'MAGENTO_ASYNC_VAR_DIR', 'MAGENTO_ASYNC_CONFIG', 'MAGENTO_ASYNC_SPEC'])
      delete env[key];
    // Set in a test file's process: a block's `node --test` would skip its files and exit 0.
    delete env.NODE_TEST_CONTEXT;
    // Blocks that run before any `npm start` reach the local server (as on this machine): a schema
    // of its own keeps one file's run from seeing another's (or an earlier run's) data.
    this.schema = `doc_${randomBytes(4).toString('hex')}`;
    noteSchema(this.schema);
    noteSchema(`${this.schema}_boss`);
    env.MAGENTO_ASYNC_SCHEMA = this.schema;
    this.env = env;
  }

  /**
   * For a document written for a store project (the README's tour, docs/testing-plugins.md):
   * instead of a checkout, a project as a user makes one, from the packed package
   * (test/support/package.ts) installed by npm in a fresh temporary folder and `magento-async
   * init`, its own Node first on PATH, with the workspace's `shared` folder beside it as beside
   * the checkout (the real specs).
   */
  async prepareProject(): Promise<void> {
    const parent = mkdtempSync(join(tmpdir(), 'doc-project-'));
    chmodSync(parent, 0o755);
    const dir = join(parent, 'my-store');
    this.checkout = { dir, remove: () => rmSync(parent, { recursive: true, force: true }) };
    if (existsSync(SHARED_DIR)) symlinkSync(SHARED_DIR, join(parent, 'shared'));
    await freshProject(dir);
    this.env.PATH = `${join(dir, 'node_modules/.bin')}:${machineEnvironment().PATH}`;
  }

  /** The checkout, copied on first use, with `../shared` beside it as in the workspace. */
  dir(): string {
    if (!this.checkout) {
      this.checkout = copyCheckout();
      const shared = join(dirname(this.checkout.dir), 'shared');
      if (existsSync(SHARED_DIR)) symlinkSync(SHARED_DIR, shared);
      const bin = join(dirname(this.checkout.dir), 'bin');
      mkdirSync(bin);
      writeFileSync(
        join(bin, 'magento-async'),
        `#!/bin/sh\nexec "${join(this.checkout.dir, 'node_modules/.bin/node')}" "${join(this.checkout.dir, 'bin/magento-async.js')}" "$@"\n`,
        { mode: 0o755 },
      );
      // Node 24 (the `node` devDependency) first, as `npm run`/`npx` would have it.
      this.env.PATH = `${bin}:${join(this.checkout.dir, 'node_modules/.bin')}:${process.env.PATH}`;
      // `npx magento-async` in a checkout installs the checkout itself (a link) into npm's cache,
      // `_npx/<digest of its path>`: a new entry for every copy, two a run. The copy's own cache,
      // beside it, goes with it (the link needs nothing from the registry, nor from a cache).
      this.env.npm_config_cache = join(dirname(this.checkout.dir), 'npm-cache');
    }
    return this.checkout.dir;
  }

  /** The text a shell block runs: the documented substitutions applied. */
  substitute(code: string): string {
    let out = code;
    if (this.instance) out = out.replaceAll('http://127.0.0.1:8080', this.instance.url);
    return out.replaceAll('<bulk_uuid>', '$(doc_bulk_uuid)');
  }

  private bash(code: string): { child: ChildProcess; output: () => string; exited: Promise<number | string | null> } {
    const script = `${PRELUDE}${this.state.join('\n')}\n${code}\nexport -p > "$DOC_TEST_STATE"\n`;
    const stateFile = join(dirname(this.dir()), 'state.sh');
    const child = spawn('bash', ['-c', script], {
      cwd: this.dir(),
      env: {
        ...this.env,
        DOC_TEST_STATE: stateFile,
        DOC_TEST_LOG: join(dirname(this.dir()), 'curl.log'),
        DOC_TEST_ROOT: this.dir(),
        DOC_TEST_NPX: join(dirname(this.dir()), 'npx-seen'),
        TOKEN: this.instance?.token ?? this.env.TOKEN,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | string | null>((done) =>
      child.on('exit', (code, signal) => {
        // Exports survive into the next block, as in one terminal.
        if (code === 0 && existsSync(stateFile)) {
          const exported = readFileSync(stateFile, 'utf8')
            .split('\n')
            .filter((l) => /^declare -x (?!PATH=|PWD=|OLDPWD=|SHLVL=|_=|DOC_TEST_STATE=)/.test(l));
          this.state.splice(0, this.state.length, ...exported);
        }
        done(code ?? signal);
      }),
    );
    return { child, output: () => output, exited };
  }

  /** Runs a foreground shell script to its end (killed after `timeoutMs`). */
  async run(code: string, timeoutMs = 120_000): Promise<BlockResult> {
    const { child, output, exited } = this.bash(this.substitute(code));
    // eslint-disable-next-line no-restricted-syntax -- a watchdog: a block that never ends is killed
    const timer = setTimeout(() => kill(child, 'SIGKILL'), timeoutMs);
    const result = await exited.finally(() => clearTimeout(timer));
    return { code: result, output: output() };
  }

  /** Runs one line; one still running whose output matches `ready` has started, and is stopped (SIGTERM). */
  async runUntilReady(code: string, ready: RegExp, timeoutMs = 120_000): Promise<BlockResult> {
    const { child, output, exited } = this.bash(this.substitute(code));
    let gone: number | string | null | undefined;
    void exited.then((c) => (gone = c));
    const started = await waitFor(() => gone !== undefined || ready.test(output()), timeoutMs, `${ready}`).catch(
      () => false,
    );
    if (gone !== undefined) return { code: gone, output: output() };
    if (!started) {
      kill(child, 'SIGKILL');
      await exited;
      return { code: `not ready within ${timeoutMs} ms`, output: output() };
    }
    kill(child, 'SIGTERM');
    // eslint-disable-next-line no-restricted-syntax -- a watchdog: one that ignores SIGTERM is killed
    const timer = setTimeout(() => kill(child, 'SIGKILL'), 20_000);
    const stopped = await exited.finally(() => clearTimeout(timer));
    // Stopped by us: it must have stopped cleanly (exit 0, or the shell reporting our SIGTERM).
    return { code: stopped === 'SIGTERM' || stopped === 143 ? 0 : stopped, output: output() };
  }

  /** Starts a block in the background (stopping the previous one) and waits for `ready`. */
  async startBackground(block: Block, ready: RegExp, timeoutMs = 120_000): Promise<BlockResult> {
    await this.stopBackground();
    const started = this.bash(this.substitute(block.code));
    this.background = { block, ...started };
    const until = Date.now() + timeoutMs;
    let gone: number | string | null | undefined;
    void started.exited.then((c) => (gone = c));
    const isReady = await waitFor(
      () => gone !== undefined || ready.test(started.output()),
      timeoutMs,
      `${ready}`,
    ).catch(() => false);
    if (gone !== undefined) return { code: gone === 0 ? 'exited before ready' : gone, output: started.output() };
    if (!isReady) return { code: `not ready within ${timeoutMs} ms`, output: started.output() };
    // `npm start` prints its URL and its token as two writes: a block may be ready before the token
    // line has arrived, and later blocks must not fall back to the literal 127.0.0.1:8080.
    if (/magento-async is running at/.test(started.output())) {
      await waitFor(
        () => this.adoptInstance(started.output()) || gone !== undefined,
        Math.max(0, until - Date.now()),
        'the token line',
      ).catch(() => {});
    }
    return { code: 0, output: started.output() };
  }

  /** Reads the URL and token `npm start` prints, so later blocks talk to it. */
  private adoptInstance(output: string): boolean {
    const url = /magento-async is running at (\S+)/.exec(output)?.[1];
    const token = /Token \([^)]*\): (\S+)/.exec(output)?.[1];
    if (url && token) this.instance = { url, token };
    return this.instance !== null;
  }

  /**
   * `npm start` for blocks that need an instance when no block started one: its script, run in a
   * shell as npm runs it (the folder's node_modules/.bin first on PATH, as it is here already),
   * without npm's own process (about 1 s CPU); a page that says `npm start` runs npm itself.
   */
  async ensureInstance(): Promise<BlockResult | null> {
    if (this.instance && this.background) return null;
    const manifest = JSON.parse(readFileSync(join(this.dir(), 'package.json'), 'utf8')) as {
      scripts?: { start?: string };
    };
    const block: Block = {
      file: '(harness)',
      line: 0,
      lang: 'sh',
      code: manifest.scripts?.start ?? 'npm start --silent',
      directives: {},
      where: 'harness',
    };
    return this.startBackground(block, /magento-async is running at/);
  }

  hasInstance(): boolean {
    return this.instance !== null;
  }

  async stopBackground(): Promise<BlockResult | null> {
    const running = this.background;
    if (!running) return null;
    this.background = null;
    this.instance = null;
    kill(running.child, 'SIGINT');
    // eslint-disable-next-line no-restricted-syntax -- a watchdog: one that ignores SIGINT is killed
    const timer = setTimeout(() => kill(running.child, 'SIGKILL'), 30_000);
    const code = await running.exited.finally(() => clearTimeout(timer));
    kill(running.child, 'SIGKILL');
    return { code: code === 'SIGINT' || code === 130 ? 0 : code, output: running.output() };
  }

  writeFile(path: string, content: string): string {
    const full = join(this.dir(), path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content.endsWith('\n') ? content : `${content}\n`);
    return full;
  }

  async close(): Promise<void> {
    await this.stopBackground();
    const pool = createPool({ connectionString: databaseUrl(), max: 1 });
    try {
      await pool.query(`DROP SCHEMA IF EXISTS ${ident(this.schema)} CASCADE`);
      await pool.query(`DROP SCHEMA IF EXISTS ${ident(`${this.schema}_boss`)} CASCADE`);
    } catch {
      // No local server (the tests run on an embedded one): nothing was made there.
    } finally {
      await pool.end();
    }
    forgetSchema(this.schema);
    forgetSchema(`${this.schema}_boss`);
    this.checkout?.remove();
    this.checkout = null;
  }
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    /* already gone */
  }
}
