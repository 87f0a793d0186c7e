/**
 * Fenced blocks of a Markdown file, with the doc-test directives written before them. The
 * convention (also in docs/doc-tests.md):
 *
 *   <!-- doc-test: background ready="is running at" -->
 *   ```sh
 *   npm start
 *   ```
 *
 * An HTML comment (invisible on GitHub) on the line(s) right before the fence, holding
 * `doc-test:` and then `key` or `key="value"` words. Keys: see `Directives`.
 */

export interface Directives {
  /** Not run; the reason is required and the harness lists every such block. */
  skip?: string;
  /** Needs the running instance (`npm start`); the harness starts one when none runs yet. */
  instance?: boolean;
  /** Runs in the background for the rest of the file; the next block waits for this pattern. */
  background?: boolean;
  ready?: string;
  /** Each line on its own; one still running counts as started once its output shows `ready`, and is stopped. */
  eachLine?: boolean;
  /** Exit code the block must end with (default 0). */
  expectExit?: number;
  /** Where a code block is written in the checkout (default: a first line `// <path>`). */
  file?: string;
}

export interface Block {
  /** Path of the Markdown file relative to the project root, and 1-based line of the opening fence. */
  file: string;
  line: number;
  lang: string;
  code: string;
  directives: Directives;
  /** `README.md:40`, what every failure names. */
  where: string;
}

const KNOWN = new Set(['skip', 'instance', 'background', 'ready', 'each-line', 'expect-exit', 'file']);

export class DirectiveError extends Error {}

export function parseDirectives(text: string, where: string): Directives {
  const out: Directives = {};
  const words = text.matchAll(/([a-z-]+)(?:="([^"]*)")?/g);
  for (const [, key, value] of words) {
    if (!KNOWN.has(key!)) throw new DirectiveError(`${where}: unknown doc-test directive "${key}"`);
    switch (key) {
      case 'skip':
        if (!value) throw new DirectiveError(`${where}: skip needs a reason: skip="why it cannot run here"`);
        out.skip = value;
        break;
      case 'instance':
        out.instance = true;
        break;
      case 'background':
        out.background = true;
        break;
      case 'ready':
        out.ready = value;
        break;
      case 'each-line':
        out.eachLine = true;
        break;
      case 'expect-exit':
        out.expectExit = Number(value);
        break;
      case 'file':
        out.file = value;
        break;
    }
  }
  return out;
}

/** Every fenced block (``` or ~~~, indented or not, as in list items) in document order. */
export function extractBlocks(file: string, markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)[^`]*$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim().startsWith(fence!) && line.trim().replace(/[`~]/g, '') === '') break;
      body.push(line.startsWith(indent!) ? line.slice(indent!.length) : line.trimStart());
    }
    if (j === lines.length) throw new DirectiveError(`${file}:${i + 1}: code fence is never closed`);
    const where = `${file}:${i + 1}`;
    blocks.push({
      file,
      line: i + 1,
      lang: lang!.toLowerCase(),
      code: body.join('\n'),
      directives: parseDirectives(directiveText(lines, i), where),
      where,
    });
    i = j;
  }
  return blocks;
}

/** The `doc-test:` comment ending right above line `i`, or ''. */
function directiveText(lines: string[], i: number): string {
  let k = i - 1;
  if (k < 0 || !lines[k]!.trim().endsWith('-->')) return '';
  const parts: string[] = [];
  for (; k >= 0; k--) {
    parts.unshift(lines[k]!.trim());
    if (lines[k]!.includes('<!--')) break;
  }
  const comment = parts.join(' ');
  const found = /<!--\s*doc-test:(.*)-->/.exec(comment);
  return found ? found[1]!.trim() : '';
}

/** The kinds of block and what the harness does with each. */
export type Kind = 'shell' | 'typescript' | 'json' | 'output';

const SHELL = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
const TYPESCRIPT = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
// Output shown to the reader (what a command prints), not code: nothing to run.
// Diagrams (mermaid) are pictures for the reader too.
const OUTPUT = new Set(['', 'text', 'txt', 'plain', 'output', 'mermaid']);

export function kindOf(block: Block): Kind | null {
  if (SHELL.has(block.lang)) return 'shell';
  if (TYPESCRIPT.has(block.lang)) return 'typescript';
  if (block.lang === 'json') return 'json';
  if (OUTPUT.has(block.lang)) return 'output';
  return null;
}

/** Where a code block goes: the `file` directive, else a first line `// path/to/file.ts` (a `: note` may follow). */
export function targetPath(block: Block): string | null {
  if (block.directives.file) return block.directives.file;
  const first = /^\s*\/\/\s*([\w./-]+\.(?:ts|js|mjs))(?::.*)?\s*$/.exec(block.code.split('\n')[0] ?? '');
  return first ? first[1]! : null;
}
