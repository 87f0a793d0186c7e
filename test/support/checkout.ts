/**
 * A fresh copy of this checkout for journey tests: the files git tracks or would track (so
 * uncommitted work is tested too, and `var/`, `.cache/` and other ignored output are not copied;
 * nor a user's untracked plugins, codegen output or configuration),
 * with `node_modules` hard-linked (same file system: instant) or, failing that, copied. What a
 * user gets from `git clone` + `npm ci`, without the network.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/**
 * Untracked files where a user's own work would go (a plugin in plugins/, codegen output, a
 * configuration): not the framework's, so a copy never has them. Other untracked files are
 * copied: a developer's new source file is part of what they test.
 */
const USER_WORK = /^(plugins\/|src\/generated\/|magento-async\.config\.json$)/;

export interface Checkout {
  dir: string;
  remove(): void;
}

/**
 * Copies the checkout into `<parent>/magento-async`. The default parent is a new temp folder made
 * public (0755) like a usual clone location: mkdtemp's 0700 would make every run as root take the
 * private-parent path of the embedded database (test/dev/private-parent.test.ts tests that one).
 */
export function copyCheckout(parent?: string): Checkout {
  if (parent === undefined) {
    parent = mkdtempSync(join(tmpdir(), 'checkout-'));
    chmodSync(parent, 0o755);
  }
  const dir = join(parent, 'magento-async');
  const list = (...args: string[]) =>
    execFileSync('git', ['ls-files', '-z', ...args], { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 })
      .toString('utf8')
      .split('\0')
      .filter(Boolean);
  const files = [...list('--cached'), ...list('--others', '--exclude-standard').filter((f) => !USER_WORK.test(f))];
  for (const file of files) {
    const to = join(dir, file);
    mkdirSync(dirname(to), { recursive: true });
    try {
      copyFileSync(join(PROJECT_ROOT, file), to);
    } catch (error) {
      // Listed by git but deleted in the working tree: not part of the checkout any more.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  try {
    execFileSync('cp', ['-al', join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules')]);
  } catch {
    cpSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  }
  const made = parent;
  return { dir, remove: () => rmSync(made, { recursive: true, force: true }) };
}
