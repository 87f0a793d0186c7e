/**
 * The record of which spec codegen ran on (`<out>/spec.json`), kept free of codegen's heavy
 * imports so the server and consumers can read it at start.
 */
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: where `src/routes/types.ts` and `src/plugin.ts` live. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The file in the output folder naming the spec it was generated from: the project's spec from then on. */
export const SPEC_RECORD = 'spec.json';

export interface SpecRecord {
  /** A URL (credentials removed), or a file path relative to the project root (absolute outside it). */
  source: string;
  file: string;
  sha256: string;
}

/** Relative to the project root when the file is in it or beside it, so the record is the same on every checkout. */
export function recordedSource(source: string): string {
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    url.username = '';
    url.password = '';
    return url.href;
  }
  const rel = relative(PROJECT_ROOT, resolve(source)).split(sep).join('/');
  return rel.startsWith('../../') || rel === '' ? resolve(source) : rel;
}
