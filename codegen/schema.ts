/** Reading schemas inside one OpenAPI document: local `$ref`s, `allOf` merges, JSON-ish media types. */
import { isObject, type Json } from './types.ts';

/** Follows a local JSON pointer (`#/components/schemas/x`); null when it leads nowhere. */
export function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#')) return null;
  let node: unknown = doc;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) && !Array.isArray(node)) return null;
    node = (node as Record<string, unknown>)[key];
    if (node === undefined) return null;
  }
  return node;
}

/** Follows a chain of `$ref`s; stops at cycles and dangling references. */
export function deref(doc: Json, node: unknown): Json | null {
  const seen = new Set<string>();
  let current = node;
  while (isObject(current) && typeof current.$ref === 'string') {
    if (seen.has(current.$ref)) return null;
    seen.add(current.$ref);
    current = resolvePointer(doc, current.$ref);
  }
  return isObject(current) ? current : null;
}

/** Properties and required names of an object schema, `$ref`s and `allOf` members merged. */
export function objectShape(doc: Json, schema: unknown, depth = 0): { properties: Json; required: string[] } | null {
  const resolved = deref(doc, schema);
  if (!resolved || depth > 20) return null;
  const properties: Json = {};
  const required: string[] = [];
  let isObj = resolved.type === 'object' || isObject(resolved.properties);
  if (Array.isArray(resolved.allOf)) {
    for (const part of resolved.allOf) {
      const shape = objectShape(doc, part, depth + 1);
      if (!shape) continue;
      isObj = true;
      Object.assign(properties, shape.properties);
      required.push(...shape.required);
    }
  }
  if (isObject(resolved.properties)) Object.assign(properties, resolved.properties);
  if (Array.isArray(resolved.required))
    required.push(...resolved.required.filter((r): r is string => typeof r === 'string'));
  return isObj ? { properties, required: [...new Set(required)] } : null;
}

/** `application/json` first, else the first `+json` / `json` media type. */
export function jsonMediaType(content: unknown): string | null {
  if (!isObject(content)) return null;
  const types = Object.keys(content);
  if (types.includes('application/json')) return 'application/json';
  return types.find((t) => /[/+]json\b/i.test(t) || /json/i.test(t)) ?? null;
}
