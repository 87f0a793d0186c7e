import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compatibilityError } from '../../src/plugins/compatibility.ts';

// npm's range semantics, as plugin authors know them from package.json.
const admits: [version: string, range: string, loads: boolean][] = [
  ['1.0.0', '^1.0.0', true],
  ['1.9.3', '^1.0.0', true],
  ['2.0.0', '^1.0.0', false],
  ['0.9.0', '^1.0.0', false],
  ['0.2.5', '^0.2.3', true],
  ['0.3.0', '^0.2.3', false],
  ['0.0.3', '^0.0.3', true],
  ['0.0.4', '^0.0.3', false],
  ['1.2.9', '~1.2.3', true],
  ['1.3.0', '~1.2.3', false],
  ['1.9.0', '~1', true],
  ['1.0.0', '>=1.0.0', true],
  ['0.9.9', '>=1.0.0', false],
  ['1.5.0', '>=1.0.0 <2.0.0', true],
  ['2.0.0', '>=1.0.0 <2.0.0', false],
  ['1.0.0', '1.0.0', true],
  ['1.0.1', '1.0.0', false],
  ['1.0.0', '=1.0.0', true],
  ['1.4.2', '1.x', true],
  ['1.4.2', '1.4.x', true],
  ['1.5.0', '1.4.x', false],
  ['7.1.0', '*', true],
  ['3.0.0', '^1.0.0 || ^3.0.0', true],
  ['2.0.0', '^1.0.0 || ^3.0.0', false],
  ['1.2.0', '1.0.0 - 1.2.0', true],
  ['1.2.1', '1.0.0 - 1.2.0', false],
  ['1.1.0', '>1.0', true],
  ['1.0.5', '>1.0', false],
  ['1.0.5', '<=1.0', true],
  ['1.0.0', '< 1.0.0', false],
  ['1.0.0-beta.1', '^1.0.0', false],
  ['1.0.0-beta.2', '^1.0.0-beta.1', true],
  ['1.0.0-alpha', '>=1.0.0-beta', false],
];

test('a plugin loads when its range admits the framework version (npm semver)', () => {
  for (const [version, range, loads] of admits) {
    assert.equal(compatibilityError(range, version) === null, loads, `${version} in ${range}`);
  }
});

test('the load error says what is wrong with the range, or which range and which version disagree', () => {
  const cases: [range: unknown, version: string, message: string][] = [
    ['^2.0.0', '1.0.0', 'requires framework ^2.0.0, but this is magento-async 1.0.0.'],
    ['soon', '1.0.0', 'compatibility "soon" is not a semver range (e.g. "^1.0.0").'],
    ['', '1.0.0', 'compatibility "" is not a semver range (e.g. "^1.0.0").'],
    ['^^1', '1.0.0', 'compatibility "^^1" is not a semver range (e.g. "^1.0.0").'],
    ['1.0.0.0', '1.0.0', 'compatibility "1.0.0.0" is not a semver range (e.g. "^1.0.0").'],
    [undefined, '1.0.0', 'compatibility undefined is not a semver range (e.g. "^1.0.0").'],
    [1, '1.0.0', 'compatibility 1 is not a semver range (e.g. "^1.0.0").'],
    [
      '^1.0.0',
      '1.1.0-beta.1',
      'requires framework ^1.0.0, but this is magento-async 1.1.0-beta.1 (a prerelease satisfies only a range that names a prerelease of 1.1.0, e.g. ">=1.1.0-beta.1").',
    ],
  ];
  for (const [range, version, message] of cases) assert.equal(compatibilityError(range, version), message);
});
