/**
 * What the suite's servers and consumers run, named by absolute path and never found through the
 * working directory, so a developer's own work in this checkout (a plugin in plugins/, a
 * magento-async.config.json, codegen output) never joins a test:
 *   - SAMPLE_GENERATED: the framework's generated sample, src/generated (codegen's output of
 *     openapi/magento-sample.yaml, shipped as the test kit's default routes; only `npm run codegen`
 *     writes it and CI's drift check fails on any other change);
 *   - TEST_PROJECT: the suite's project folder (test/fixtures/project): no configuration file, and
 *     a plugins folder with no plugin (tests give theirs in memory).
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from './checkout.ts';

export const SAMPLE_GENERATED = join(PROJECT_ROOT, 'src/generated');
export const TEST_PROJECT = join(PROJECT_ROOT, 'test/fixtures/project');
export const TEST_PLUGINS_DIR = join(TEST_PROJECT, 'plugins');

/** The configuration keys that say where routes and plugins come from, for a test's config. */
export const TEST_LOCATIONS = { generatedDir: SAMPLE_GENERATED, pluginsDir: TEST_PLUGINS_DIR } as const;
