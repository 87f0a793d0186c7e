/**
 * operationIds become property names of generated interfaces and handler maps, so each must be a
 * valid, unique identifier that depends only on the spec (stable across runs and machines).
 */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function isIdentifier(value: string): boolean {
  return IDENTIFIER.test(value);
}

/** `/V1/products/{sku}` → `V1ProductsSku`: every alphanumeric run, first letter capitalised. */
export function pascalCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** Magento 2.4.8 style: `PUT /V1/products/{sku}` → `PutV1ProductsSku`. */
export function deriveOperationId(method: string, pathKey: string): string {
  return `${method.charAt(0).toUpperCase()}${method.slice(1).toLowerCase()}${pascalCase(pathKey)}`;
}

/** `post_oauth2_token#refresh` → `post_oauth2_token_refresh`; empty when nothing usable is left. */
export function sanitiseOperationId(value: string): string {
  let id = value.replace(/[^A-Za-z0-9_$]+/g, '_').replace(/_+$/g, '');
  if (/^[0-9]/.test(id)) id = `_${id}`;
  return /[A-Za-z0-9]/.test(id) ? id : '';
}

export type OperationIdNote = 'missing' | 'invalid' | 'duplicate' | null;

/** Assigns ids in the order it is called (spec order); later collisions get `_2`, `_3`, … */
export class OperationIdAllocator {
  private readonly used = new Set<string>();

  allocate(specId: string | null, method: string, pathKey: string): { id: string; note: OperationIdNote } {
    let base: string;
    let note: OperationIdNote = null;
    if (specId === null || specId.trim() === '') {
      base = deriveOperationId(method, pathKey);
      note = 'missing';
    } else if (isIdentifier(specId)) {
      base = specId;
    } else {
      base = sanitiseOperationId(specId) || deriveOperationId(method, pathKey);
      note = 'invalid';
    }
    let id = base;
    for (let n = 2; this.used.has(id); n++) {
      id = `${base}_${n}`;
      note ??= 'duplicate';
    }
    this.used.add(id);
    return { id, note };
  }
}
