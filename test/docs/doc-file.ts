/**
 * Doc tests: every fenced block of README.md and docs/*.md runs as written, in document order, one
 * fresh checkout (or, for pages written for a store project, one fresh `init` project) per Markdown
 * file (test/docs/session.ts says what a block may rely on). Each
 * Markdown file has its own test file (`<name>.md.test.ts` here, calling `testDocFile`), so the
 * files run in parallel; test/docs/docs.test.ts checks that none is missing. A failure names the
 * file and line of the block, what ran and what it printed.
 *
 * Convention for blocks that need context: an HTML comment right before the fence,
 * `<!-- doc-test: key key="value" -->` (test/docs/blocks.ts, docs/doc-tests.md):
 *   skip="reason"        not run here; the reason is required and listed at the end of the run
 *   instance             needs the running `npm start` (started by the harness if no block did: the
 *                        start script, as npm runs it)
 *   background ready="…" runs in the background (e.g. `npm start`) until the file ends or the next
 *                        background block; later blocks start once its output matches `ready`
 *   each-line ready="…" each line on its own; one still running once its output matches `ready`
 *                        has started fine (and is stopped); one that ends must end with 0
 *   expect-exit="1"      the exit code the block must end with
 *   file="path"          where a code block is written (else its first line `// path`)
 * TypeScript blocks must type-check in the checkout or project (a plugin must also load); JavaScript must parse.
 * Blocks in ```text (or no language) are output shown to the reader and are not run.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../support/checkout.ts';
import { extractBlocks, kindOf, targetPath, type Block } from './blocks.ts';
import { DocSession, SHARED_DIR, type BlockResult } from './session.ts';

/**
 * Written for a store project (`magento-async init`): run in one, made from the packed package in a
 * temporary folder outside this checkout (the README's tour, the plugin tutorial, the pages whose
 * plugins a reader writes), so what a reader generates or writes never lands in the framework's tree.
 */
const IN_PROJECT = new Set([
  'README.md',
  'docs/testing-plugins.md',
  'docs/plugins-and-interceptors.md',
  'docs/dependencies.md',
  'docs/validate-only.md',
  'docs/operation-lifecycle.md',
]);

/** Pages whose plugins load through their own steps (a kit test, `npm start`), not the harness's check. */
const TUTORIALS = new Set(['README.md', 'docs/testing-plugins.md']);

/** Markdown files whose fenced blocks are run: README.md and docs/*.md. */
export function documentedFiles(): string[] {
  return [
    'README.md',
    ...readdirSync(join(PROJECT_ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
}

/** Whether a Markdown file has a block to run (else it needs no test file). */
export function hasRunnableBlocks(file: string): boolean {
  return extractBlocks(file, readFileSync(join(PROJECT_ROOT, file), 'utf8')).some((b) => kindOf(b) !== 'output');
}

function failure(block: Block, ran: string, result: BlockResult, expected: number | string): string {
  return (
    `${block.where}: the \`\`\`${block.lang} block ended with ${String(result.code)} (expected ${expected})\n` +
    `--- ran\n${ran}\n--- output\n${result.output.trimEnd()}`
  );
}

/** Runs one Markdown file's blocks in order, each a test, in one session (checkout, instance). */
export function testDocFile(file: string): void {
  const blocks = extractBlocks(file, readFileSync(join(PROJECT_ROOT, file), 'utf8'));
  const runnable = blocks.filter((b) => kindOf(b) !== 'output');
  const exceptions: string[] = [];
  after(() => {
    if (exceptions.length)
      process.stderr.write(
        `doc blocks not run (${exceptions.length}):\n${exceptions.map((e) => `  ${e}`).join('\n')}\n`,
      );
  });

  describe(file, { timeout: IN_PROJECT.has(file) ? 1_200_000 : 600_000 }, () => {
    const session = new DocSession();
    const inProject = IN_PROJECT.has(file);
    // The plugins the page wrote so far, loaded together after each one (none for a tutorial).
    const pluginsChecked = TUTORIALS.has(file) ? null : ([] as string[]);
    // Issue 22's done-when: what a reader does in a store project leaves this checkout as it was.
    let treeBefore: string[] = [];
    if (inProject) before(() => ((treeBefore = userWork()), session.prepareProject()), { timeout: 600_000 });
    after(() => session.close());

    const typeChecks = typeCheckGroups(runnable, inProject);
    for (const block of runnable) {
      const kind = kindOf(block);
      const label = `${block.where} \`\`\`${block.lang}${block.code.split('\n')[0] ? `: ${block.code.split('\n')[0]!.slice(0, 60)}` : ''}`;
      const { skip } = block.directives;
      if (skip) {
        exceptions.push(`${block.where}: ${skip}`);
        test(label, { skip });
        continue;
      }
      if (block.code.includes('../shared/specs') && !existsSync(join(SHARED_DIR, 'specs'))) {
        const why = `${SHARED_DIR}/specs not found (the real specs live only in the shared workspace)`;
        exceptions.push(`${block.where}: ${why}`);
        test(label, { skip: why });
        continue;
      }

      test(label, async () => {
        if (kind === null) {
          assert.fail(
            `${block.where}: no runner for \`\`\`${block.lang}: write it as sh, ts or json (or text for output), ` +
              'or mark it <!-- doc-test: skip="why it cannot run" -->',
          );
        }
        if (kind === 'json') {
          try {
            JSON.parse(block.code);
          } catch (error) {
            assert.fail(`${block.where}: not valid JSON: ${(error as Error).message}`);
          }
          return;
        }
        if (kind === 'typescript') return runCode(session, block, inProject, pluginsChecked, typeChecks.get(block));
        return runShell(session, block);
      });
    }

    if (inProject)
      test("this checkout's tree is as it was: nothing the page did landed in the framework", () => {
        assert.deepEqual(
          userWork().filter((line) => !treeBefore.includes(line)),
          [],
          'new in `git status` of this checkout',
        );
      });
  });
}

/**
 * What a reader's work could add to this checkout's `git status`: a new file (not ignored), or a
 * change in the framework's generated sample or plugins folder. (A developer editing a tracked source
 * file while the suite runs is not the reader's doing.) The same rule as the package journey's.
 */
function userWork(): string[] {
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((line) => line.startsWith('??') || /^.. (src\/generated|plugins)\//.test(line));
}

async function runShell(session: DocSession, block: Block): Promise<void> {
  const d = block.directives;
  if (d.instance || (!d.background && /127\.0\.0\.1:8080|\$TOKEN/.test(block.code) && !session.hasInstance())) {
    const started = await session.ensureInstance();
    if (started && started.code !== 0)
      assert.fail(failure(block, '(the harness starting npm start for it)', started, 0));
  }
  if (d.background) {
    const ready = d.ready ?? (/npm start/.test(block.code) ? 'magento-async is running at' : null);
    if (!ready) assert.fail(`${block.where}: a background block needs ready="<text its output shows when ready>"`);
    const result = await session.startBackground(block, new RegExp(ready));
    if (result.code !== 0)
      assert.fail(failure(block, session.substitute(block.code), result, `output matching ${ready}`));
    return;
  }
  if (d.eachLine) {
    if (!d.ready)
      assert.fail(`${block.where}: an each-line block needs ready="<text a running line shows once started>"`);
    const lines = block.code.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    for (const line of lines) {
      const result = await session.runUntilReady(line, new RegExp(d.ready!));
      if (result.code !== 0) assert.fail(failure(block, session.substitute(line), result, 0));
    }
    return;
  }
  const expected = d.expectExit ?? 0;
  const result = await session.run(block.code);
  if (result.code !== expected) assert.fail(failure(block, session.substitute(block.code), result, expected));
}

/**
 * TypeScript blocks that follow one another in a store project's page (no other block between,
 * each its own file), type-checked by one tsc: each tsc loads the compiler and parses the standard
 * library, Node's types and the package's before it reads the block's file (about 2 s CPU), so a
 * page's three plugins in a row cost one start-up instead of three. The group's files are written
 * when its first block runs; nothing runs between them that could read them (the project's load
 * check imports the page's plugins by name). Not in a checkout copy, whose load check loads every
 * plugin of its plugins folder. Each block of a group maps to the group.
 */
interface TypeCheckGroup {
  blocks: { block: Block; path: string }[];
  result?: Promise<BlockResult>;
  /**
   * The page's next block, when it type-checks the whole project itself (a line `npx tsc` or
   * `tsc`, in the project's folder): the group's files are in it (the project's tsconfig.json
   * includes their folders, checked when they are written), so that tsc is the group's check,
   * failing that block with tsc's errors, rather than a second tsc of the same files before it.
   */
  checkedBy?: Block;
}

/** A shell block that runs the project's own type check, as `npx tsc` in its folder (no `cd`). */
const checksProject = (block: Block) =>
  kindOf(block) === 'shell' &&
  !block.directives.skip &&
  /^\s*(npx\s+)?tsc\s*$/m.test(block.code) &&
  !/^\s*cd\b/m.test(block.code);

function typeCheckGroups(runnable: Block[], inProject: boolean): Map<Block, TypeCheckGroup> {
  const groups = new Map<Block, TypeCheckGroup>();
  if (!inProject) return groups;
  let current: TypeCheckGroup | null = null;
  for (const block of runnable) {
    const path = kindOf(block) === 'typescript' && !block.directives.skip ? targetPath(block) : null;
    const joins = path && /\.ts$/.test(path);
    if (!joins && current && checksProject(block)) current.checkedBy = block;
    if (!joins || current?.blocks.some((b) => b.path === path)) current = null;
    if (!joins) continue;
    current ??= { blocks: [] };
    current.blocks.push({ block, path });
    groups.set(block, current);
  }
  return groups;
}

/**
 * Whether tsc's `output` (one `file(line,col): error …` line per diagnostic) fails the file `path`
 * of a group of `paths`: an error in it, or in a file that is none of the group's (what they
 * import), or output that names no file at all (the configuration).
 */
function failsFile(output: string, path: string, paths: string[]): boolean {
  const files = [...output.matchAll(/^(\S[^\n(]*)\(\d+,\d+\): error /gm)].map((m) => m[1]!);
  return files.length === 0 || files.some((file) => file === path || !paths.includes(file));
}

/**
 * Written where it says, then the checkout (or project) type-checks with it (JavaScript: it parses);
 * a plugin must load beside the shipped examples, and with an upstream configured.
 */
async function runCode(
  session: DocSession,
  block: Block,
  inProject: boolean,
  plugins: string[] | null,
  group: TypeCheckGroup | undefined,
): Promise<void> {
  const path = targetPath(block);
  if (!path) {
    assert.fail(`${block.where}: a code block needs its path: a first line \`// path/to/file.ts\`, or file="…"`);
  }
  if (/\.m?js$/.test(path)) {
    session.writeFile(path, block.code);
    // JavaScript for a reader's own scripts: it must at least parse (running it needs their credentials).
    const check = await session.run(`node --check ${path}`);
    if (check.code !== 0) assert.fail(failure(block, `(written to ${path}) node --check ${path}`, check, 0));
    return;
  }
  const checked = group ?? { blocks: [{ block, path }] };
  const paths = checked.blocks.map((b) => b.path);
  if (!checked.result && checked.checkedBy && paths.every((p) => projectIncludes(session, p))) {
    for (const b of checked.blocks) session.writeFile(b.path, b.block.code);
    checked.result = Promise.resolve({ code: 0, output: '' });
  }
  if (!checked.result) {
    for (const b of checked.blocks) session.writeFile(b.path, b.block.code);
    // The project's compiler settings, for these files and what they import.
    session.writeFile(
      '.doc-test.tsconfig.json',
      JSON.stringify({ extends: './tsconfig.json', include: [], files: paths }),
    );
    // The checkout's or project's own tsc (its node_modules/.bin is first on PATH: the one npx would
    // run), without npx's start-up (0.4 s CPU per block).
    checked.result = session.run('tsc --noEmit -p .doc-test.tsconfig.json', 300_000);
  }
  const typecheck = await checked.result;
  if (typecheck.code !== 0 && failsFile(typecheck.output, path, paths))
    assert.fail(failure(block, `(written to ${path}) tsc --noEmit ${paths.join(' ')}`, typecheck, 0));
  // A project's own plugins from the tutorials (testing-plugins.md, the tour) load through their kit
  // tests and `npm start`; a plugin of a reference page is checked here, with the plugins the page
  // wrote before it.
  if (!plugins || !/^plugins\/[^/]+\/index\.ts$/.test(path)) return;
  plugins.push(path);
  const load = await session.run(inProject ? projectLoadCheck(plugins) : CHECKOUT_LOAD_CHECK);
  if (load.code !== 0)
    assert.fail(
      failure(
        block,
        `(written to ${path}) loading the plugins beside the shipped examples, and with an upstream`,
        load,
        0,
      ),
    );
}

/** Whether the project's tsconfig.json includes the file `path` (by its first folder, as `include` names them). */
function projectIncludes(session: DocSession, path: string): boolean {
  const config = JSON.parse(readFileSync(join(session.dir(), 'tsconfig.json'), 'utf8')) as { include?: string[] };
  return (config.include ?? []).includes(path.split('/')[0]!);
}

/** In a checkout copy: plugins/ (the page's plugins and the built-in one) with the sample's routes. */
const CHECKOUT_LOAD_CHECK = `node --input-type=module -e "
  const { importArtifacts } = await import('./src/runtime/artifacts.ts');
  const { loadPlugins } = await import('./src/plugins/loader.ts');
  const { routes } = await importArtifacts('src/generated');
  const examples = await loadPlugins({ routes, pluginsDir: 'plugins', examples: ['catalog', 'customer', 'cms'] });
  console.log('beside the examples:', examples.describe('PutV1ProductsSku')?.handler ?? 'ok');
  const upstream = await loadPlugins({ routes, pluginsDir: 'plugins', upstream: { baseUrl: 'http://127.0.0.1:9/rest' } });
  console.log('with an upstream:', upstream.describe('PutV1ProductsSku')?.handler ?? 'ok');
"`;

/**
 * In a store project: the page's plugins (not the project's own or codegen's stubs), with the
 * routes the project generated, else the sample's the package ships (the test kit's default), by
 * the installed package's loader, the one \`npm start\` runs (the package exports no entry point for
 * loading alone, so its compiled modules are imported by path).
 */
function projectLoadCheck(files: readonly string[]): string {
  return `node --input-type=module -e "
  const { existsSync } = await import('node:fs');
  const dist = './node_modules/magento-async/dist/src';
  const { importArtifacts } = await import(dist + '/runtime/artifacts.js');
  const { loadPlugins } = await import(dist + '/plugins/loader.js');
  const { routes } = await importArtifacts(existsSync('generated/routes.gen.js') ? 'generated' : dist + '/generated');
  const modules = [];
  for (const source of ${JSON.stringify(files).replaceAll('"', "'")}) modules.push({ source, module: await import('./' + source) });
  const examples = await loadPlugins({ routes, pluginsDir: null, modules, examples: ['catalog', 'customer', 'cms'] });
  console.log('beside the examples:', examples.describe('PutV1ProductsSku')?.handler ?? 'ok');
  const upstream = await loadPlugins({ routes, pluginsDir: null, modules, upstream: { baseUrl: 'http://127.0.0.1:9/rest' } });
  console.log('with an upstream:', upstream.describe('PutV1ProductsSku')?.handler ?? 'ok');
"`;
}
