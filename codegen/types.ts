/** Shapes shared by the codegen modules. OpenAPI documents are handled loosely on purpose: real specs break every strict typing of them. */

export type Json = Record<string, unknown>;

/** Something in the spec codegen handled or skipped; always names where (path + method) when it is about an operation. */
export interface Diagnostic {
  code: string;
  message: string;
  path?: string;
  method?: string;
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.method && d.path ? `${d.method} ${d.path}: ` : d.path ? `${d.path}: ` : '';
  return `[${d.code}] ${where}${d.message}`;
}
