/**
 * The shipped example plugins (examples/<name>/): local catalog, customer and CMS tables with
 * Magento's semantics, for the demo and as models to copy. A project turns them on by name
 * (`plugins.examples`); none runs by default, so with an upstream configured every operation
 * reaches the real store unless the project says otherwise.
 */
import type { Config } from '../config.ts';
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

/**
 * The demo runs the shipped examples (the seed's product lives in the catalog example) unless the
 * configuration names its own (`plugins.examples`, `[]` for none) or an upstream is configured,
 * whose store then gets every operation. Codegen follows the same rule, so it writes no stub for
 * an operation an example of the demo implements.
 */
export function demoExamples(config: Config): Config {
  if (config.plugins.examples !== null) return config;
  const examples = config.upstream.baseUrl ? [] : [...EXAMPLE_NAMES];
  return { ...config, plugins: { ...config.plugins, examples } };
}
