/**
 * Reads a spec from a file or URL and turns it into one OpenAPI 3.x document, whatever its
 * original form (Swagger 2.0 JSON/YAML, OAS 3.0, OAS 3.1). The sha256 is of the raw bytes so the
 * generated headers change exactly when the input does.
 */
import { parse as parseYaml } from 'yaml';
import { readSpecSource, SpecLoadError, type SpecSource } from './spec-source.ts';
import { swagger2openapi } from './toolchain.ts';
import { isObject, type Diagnostic, type Json } from './types.ts';

export interface LoadedSpec {
  /** Base name of the file or last URL segment: what the DO NOT EDIT headers name. */
  file: string;
  /** The path or URL it was loaded from, as given (codegen records it in spec.json). */
  source: string;
  sha256: string;
  /** The spec as an OpenAPI 3.x document (converted when it was Swagger 2.0). */
  doc: Json;
  /** The version the input declared (`2.0`, `3.0.2`, `3.1.0`). */
  sourceVersion: string;
  /** Swagger 2.0 `basePath` (Magento: `/rest/default`); null for OAS 3. */
  basePath: string | null;
  /** The Swagger 2.0 document as given (the async schemas answer in its version), null for OAS 3. */
  swagger2: Json | null;
  diagnostics: Diagnostic[];
}

export { SpecLoadError };

export interface LoadOptions {
  token?: string | undefined;
}

export async function loadSpec(source: string, options: LoadOptions = {}): Promise<LoadedSpec> {
  return parseSpecSource(await readSpecSource(source, options.token));
}

/** The spec whose bytes were read already (spec-source.ts), parsed and converted. */
export async function parseSpecSource(spec: SpecSource): Promise<LoadedSpec> {
  const text = spec.bytes.toString('utf8');
  const parsed = parseText(text, spec.source);
  return normaliseSpec(parsed, { file: spec.file, sha256: spec.sha256, source: spec.source, text });
}

/** Pure part of loading, usable from tests with inline specs. */
export async function normaliseSpec(
  parsed: unknown,
  meta: { file: string; sha256: string; source?: string; text?: string },
): Promise<LoadedSpec> {
  if (!isObject(parsed)) throw new SpecLoadError(`${meta.file}: not an OpenAPI document (top level is not an object)`);
  const diagnostics: Diagnostic[] = [];
  const swagger = typeof parsed.swagger === 'string' ? parsed.swagger : null;
  const openapi = typeof parsed.openapi === 'string' ? parsed.openapi : null;
  if (!swagger && !openapi) {
    throw new SpecLoadError(`${meta.file}: not an OpenAPI document (no "swagger" or "openapi" version field)`);
  }
  if (!isObject(parsed.paths)) throw new SpecLoadError(`${meta.file}: the document has no "paths" object`);
  replaceExternalRefs(parsed, '#', diagnostics);
  let doc: Json = parsed;
  let basePath: string | null = null;
  let swagger2: Json | null = null;
  if (swagger) {
    swagger2 = parsed;
    if (!swagger.startsWith('2.')) throw new SpecLoadError(`${meta.file}: unsupported swagger version ${swagger}`);
    basePath = typeof parsed.basePath === 'string' ? parsed.basePath : null;
    doc = await convertSwagger2(parsed, meta.file, meta.text);
  } else if (!/^3\.[01]\./.test(openapi!)) {
    throw new SpecLoadError(`${meta.file}: unsupported openapi version ${openapi}`);
  }
  return {
    file: meta.file,
    source: meta.source ?? meta.file,
    sha256: meta.sha256,
    doc,
    sourceVersion: (swagger ?? openapi)!,
    basePath,
    swagger2,
    diagnostics,
  };
}

/** Content decides, not the extension: a store's schema URL has none. */
function parseText(text: string, source: string): unknown {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      throw new SpecLoadError(`${source}: invalid JSON: ${(error as Error).message}`);
    }
  }
  try {
    return parseYaml(trimmed, { maxAliasCount: -1 });
  } catch (error) {
    throw new SpecLoadError(`${source}: neither JSON nor valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

/**
 * Codegen never follows references outside the document (a store's schema has no siblings to
 * follow), so each one is replaced by a placeholder the rest of the pipeline understands.
 */
function replaceExternalRefs(node: unknown, pointer: string, diagnostics: Diagnostic[]): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => replaceExternalRefs(item, `${pointer}/${i}`, diagnostics));
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (isObject(value) && typeof value.$ref === 'string' && !value.$ref.startsWith('#')) {
      const where = `${pointer}/${key}`;
      diagnostics.push({
        code: 'external-ref',
        message: `external $ref "${value.$ref}" at ${where} is not followed; replaced by a placeholder`,
      });
      // A description or summary must stay a string for converters and type generators.
      node[key] =
        key === 'description' || key === 'summary'
          ? `(see ${value.$ref})`
          : { description: `unresolved $ref ${value.$ref}` };
      continue;
    }
    replaceExternalRefs(value, `${pointer}/${key}`, diagnostics);
  }
}

/** `text`: the document's own text, when known (swagger2openapi otherwise writes the document as YAML for it). */
async function convertSwagger2(doc: Json, file: string, text: string | undefined): Promise<Json> {
  const converter = swagger2openapi();
  try {
    // The converter mutates its input; the clone keeps the caller's object (and its sha) intact.
    const result = await converter.convertObj(structuredClone(doc), {
      patch: true,
      warnOnly: true,
      resolve: false,
      direct: false,
      // Only kept on the options (a validator would count its lines): given, the converter does not
      // make it by writing the whole document as YAML (about a second for Magento's admin spec).
      ...(text && { text }),
    });
    return result.openapi as Json;
  } catch (error) {
    throw new SpecLoadError(`${file}: Swagger 2.0 conversion failed: ${(error as Error).message}`);
  }
}
