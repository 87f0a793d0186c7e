/**
 * Which spec a project runs: the one codegen recorded in `<generatedDir>/spec.json`. `start`,
 * `serve` and the consumers use it unless the configuration (`spec`, env `MAGENTO_ASYNC_SPEC`)
 * names another; then they refuse with a message naming both specs and the codegen command that
 * makes the configured one the project's spec. Nothing regenerates from another file behind the
 * user's back.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { recordedSource, SPEC_RECORD, type SpecRecord } from '../../codegen/spec-record.ts';

export class SpecMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecMismatchError';
  }
}

export function readSpecRecord(generatedDir: string): SpecRecord | null {
  try {
    return JSON.parse(readFileSync(join(resolve(generatedDir), SPEC_RECORD), 'utf8')) as SpecRecord;
  } catch {
    return null;
  }
}

const isUrl = (source: string) => /^https?:\/\//i.test(source);

/** A recorded file source as a path on this machine (relative ones are the project's). */
export function specPath(record: SpecRecord): string | null {
  return isUrl(record.source) ? null : resolve(record.source);
}

export type SpecState =
  | { state: 'current'; record: SpecRecord }
  /** The recorded file's bytes changed since codegen. */
  | { state: 'changed'; record: SpecRecord; path: string; sha256: string };

/** Compares the configured spec (if any) and the recorded one; throws SpecMismatchError on a conflict. */
export function checkSpec(options: { generatedDir: string; configured: string | undefined }): SpecState {
  const record = readSpecRecord(options.generatedDir);
  const fix = (spec: string) => `npx magento-async codegen --spec ${spec}`;
  if (!record) {
    throw new SpecMismatchError(
      `${options.generatedDir}/ has no ${SPEC_RECORD}: it was not made by this version's codegen. Run \`${fix(options.configured ?? '<your spec>')}\`.`,
    );
  }
  if (options.configured !== undefined && recordedSource(options.configured) !== record.source) {
    throw new SpecMismatchError(
      `${options.generatedDir}/ was generated from ${record.source}, but the configuration names the spec ${options.configured}. ` +
        `Run \`${fix(options.configured)}\` to make it the project's spec, or unset "spec" (MAGENTO_ASYNC_SPEC) to keep ${record.source}.`,
    );
  }
  const path = specPath(record);
  if (path && existsSync(path)) {
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    if (sha256 !== record.sha256) return { state: 'changed', record, path, sha256 };
  }
  return { state: 'current', record };
}

/** The one-line message for a changed recorded spec, for commands that do not regenerate. */
export function changedMessage(generatedDir: string, record: SpecRecord): string {
  return (
    `${record.source} changed since ${generatedDir}/ was generated from it: ` +
    `run \`npx magento-async codegen --spec ${record.source}\` first.`
  );
}
