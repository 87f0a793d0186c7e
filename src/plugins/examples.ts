/**
 * The shipped example plugins (examples/<name>/): local catalog, customer and CMS tables with
 * Magento's semantics, for the demo and as models to copy. A project turns them on by name
 * (`plugins.examples`); none runs by default, so with an upstream configured every operation
 * reaches the real store unless the project says otherwise.
 */
import { packageModule } from '../kernel/package.ts';

export const EXAMPLE_NAMES = ['catalog', 'customer', 'cms'] as const;
export type ExampleName = (typeof EXAMPLE_NAMES)[number];

export function isExampleName(name: string): name is ExampleName {
  return (EXAMPLE_NAMES as readonly string[]).includes(name);
}

/** Absolute path of an example's module. */
export function examplePath(name: ExampleName): string {
  return packageModule(`examples/${name}/index.ts`);
}
