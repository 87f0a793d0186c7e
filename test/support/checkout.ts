/**
 * A fresh copy of this checkout for journey tests: the files git tracks or would track (so
 * uncommitted work is tested too, and `var/`, `.cache/` and other ignored output are not copied),
 * with `node_modules` hard-linked (same file system: instant) or, failing that, copied. What a
 * user gets from `git clone` + `npm ci`, without the network.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export interface Checkout {
  dir: string;
  remove(): void;
}

/** Copies the checkout into `<parent>/magento-async` (parent default: a new temp folder). */
export function copyCheckout(parent: string = mkdtempSync(join(tmpdir(), 'checkout-'))): Checkout {
  const dir = join(parent, 'magento-async');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  })
    .toString('utf8')
    .split('\0')
    .filter(Boolean);
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
  return { dir, remove: () => rmSync(parent, { recursive: true, force: true }) };
}
