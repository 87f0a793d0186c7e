/** Codegen's output files in a generated folder, as the runtime finds them. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `<name>.gen.js` (compiled, as the package ships its sample) or `<name>.gen.ts` (as codegen writes
 * it in a project), or null when the folder has neither.
 */
export function generatedModule(dir: string, name: 'routes' | 'validators'): string | null {
  for (const ext of ['.js', '.ts']) {
    const file = join(dir, `${name}.gen${ext}`);
    if (existsSync(file)) return file;
  }
  return null;
}
