/**
 * The record of which spec codegen ran on (`<out>/spec.json`), kept free of codegen's heavy
 * imports so the server and consumers can read it at start.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { COMPILED, PACKAGE_JSON, PACKAGE_ROOT } from '../src/kernel/package.ts';

/** The framework's own folder (this checkout, or node_modules/magento-async of a project). */
export const PROJECT_ROOT = PACKAGE_ROOT;

/** The file in the output folder naming the spec it was generated from: the project's spec from then on. */
export const SPEC_RECORD = 'spec.json';

export interface SpecRecord {
  /** A URL (credentials removed), or a file path relative to the project (absolute outside it). */
  source: string;
  file: string;
  sha256: string;
}

/**
 * Relative to the project (the working directory, where the commands run) when the file is in it
 * or beside it, so the record is the same on every checkout.
 */
export function recordedSource(source: string): string {
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    url.username = '';
    url.password = '';
    return url.href;
  }
  const rel = relative(process.cwd(), resolve(source)).split(sep).join('/');
  return rel.startsWith('../../') || rel === '' ? resolve(source) : rel;
}

/**
 * Which codegen wrote a folder, for caches of generated code: the package's version, and in a
 * checkout, where codegen changes between releases, a digest of its sources as well.
 */
export function codegenVersion(): string {
  if (COMPILED) return PACKAGE_JSON.version;
  const dir = join(PACKAGE_ROOT, 'codegen');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort())
    if (file.endsWith('.ts')) hash.update(file).update(readFileSync(join(dir, file)));
  return `${PACKAGE_JSON.version}+${hash.digest('hex').slice(0, 12)}`;
}
