/**
 * Spec-wide adjustments to the schemas validators are compiled from. Magento rejects an unknown
 * field inside a data object (`{"product":{"wrong_attribute":1}}` → 400) but its published schema
 * never says `additionalProperties: false`; other APIs keep whatever their spec says.
 */
import type { LoadedSpec } from './load-spec.ts';
import { isObject, type Json } from './types.ts';

/** Swagger 2.0 served under `/rest` (`basePath: /rest/default`) is how Magento publishes its schema. */
export function isMagentoStyle(spec: Pick<LoadedSpec, 'sourceVersion' | 'basePath'>): boolean {
  return spec.sourceVersion.startsWith('2.') && (spec.basePath ?? '').startsWith('/rest');
}

/** Closes every component object schema that does not say otherwise (mutates the document). */
export function closeMagentoObjects(doc: Json): void {
  const components = isObject(doc.components) ? doc.components : null;
  const schemas = components && isObject(components.schemas) ? components.schemas : null;
  if (!schemas) return;
  for (const schema of Object.values(schemas)) {
    if (!isObject(schema) || schema.additionalProperties !== undefined) continue;
    if (schema.type === 'object' || isObject(schema.properties)) schema.additionalProperties = false;
  }
}
