import { test } from 'node:test';
import assert from 'node:assert/strict';
import { satisfies, validRange } from '../../src/plugins/version.ts';

const cases: [version: string, range: string, expected: boolean][] = [
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

test('satisfies: npm semantics for the ranges plugins use', () => {
  for (const [version, range, expected] of cases) {
    assert.equal(satisfies(version, range), expected, `${version} in ${range}`);
  }
});

test('validRange rejects what is not a range', () => {
  for (const bad of ['', 'latest', '^^1', '1.0.0.0', '>= banana']) assert.equal(validRange(bad), false, bad);
  for (const good of ['^1.0.0', '1.x || >=3', '*', '~2.1']) assert.equal(validRange(good), true, good);
});
