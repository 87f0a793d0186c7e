/** Which example plugins the demo (`npm start`) runs: all three, unless configured or an upstream is set. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { loadConfig } from '../../src/config.ts';
import { demoExamples } from '../../src/plugins/examples.ts';

const cases = [
  { name: 'nothing configured: all three', overrides: {}, examples: ['catalog', 'customer', 'cms'] },
  {
    name: 'an upstream: none, the store gets everything',
    overrides: { upstream: { baseUrl: 'http://store/rest' } },
    examples: [],
  },
  { name: 'configured: as configured', overrides: { plugins: { examples: ['cms'] } }, examples: ['cms'] },
  { name: 'configured empty: none', overrides: { plugins: { examples: [] } }, examples: [] },
  {
    name: 'configured with an upstream: as configured',
    overrides: { plugins: { examples: ['catalog'] }, upstream: { baseUrl: 'http://store/rest' } },
    examples: ['catalog'],
  },
];

for (const c of cases) {
  test(c.name, () => {
    const config = loadConfig({ env: {}, cwd: tmpdir(), overrides: c.overrides as never });
    assert.deepEqual(demoExamples(config).plugins.examples, c.examples);
  });
}
