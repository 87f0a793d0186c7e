/**
 * A spec's bytes, where they came from and their sha256, before any parsing: all that names a
 * generation (codegen/cache.ts) and heads the generated files. Kept apart from load-spec.ts, which
 * parses and converts, so a generation found in the cache is reused without loading the YAML
 * parser or the Swagger converter, nor parsing a spec of megabytes.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

export class SpecLoadError extends Error {}

export interface SpecSource {
  /** Base name of the file or last URL segment: what the DO NOT EDIT headers name. */
  file: string;
  /** The path or URL it was loaded from, as given (codegen records it in spec.json). */
  source: string;
  sha256: string;
  /** The bytes as read or fetched: a URL is fetched once, whatever is done with them. */
  bytes: Buffer;
}

export async function readSpecSource(source: string, token?: string): Promise<SpecSource> {
  const bytes = await readSource(source, token);
  return { file: specFileName(source), source, sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

function specFileName(source: string): string {
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    const last = url.pathname.split('/').filter(Boolean).pop();
    return `${url.host}${last ? `-${last}` : ''}`;
  }
  return basename(source);
}

async function readSource(source: string, token: string | undefined): Promise<Buffer> {
  if (/^https?:\/\//i.test(source)) {
    const headers: Record<string, string> = { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5' };
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(source, { headers });
    } catch (error) {
      throw new SpecLoadError(`cannot fetch ${source}: ${(error as Error).message}`);
    }
    if (!response.ok) throw new SpecLoadError(`cannot fetch ${source}: HTTP ${response.status} ${response.statusText}`);
    return Buffer.from(await response.arrayBuffer());
  }
  try {
    return await readFile(source);
  } catch (error) {
    throw new SpecLoadError(
      `cannot read spec file ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
