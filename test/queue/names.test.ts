/**
 * Job ids are a pure function of (bulk, key, reopened) that never changes between versions: the
 * sweeper and the retry API enqueue an operation again and rely on pg-boss ignoring an id it
 * already has, including ids written by an earlier release.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobIdFor } from '../../src/queue/names.ts';

const bulk = '2d3b8c0e-8a53-4f6f-9c55-8f1e5b2a9c01';

for (const [key, reopened, id] of [
  [0, 0, '080d3d28-e5ed-5451-aa24-f9b2cbe179ad'],
  [4999, 0, 'dd6fa2ce-8398-56b8-9b34-b9d01f3a6977'],
  [7, 2, '7673b2b1-f25e-5581-8538-9c0a3b4cb119'],
] as const) {
  test(`jobIdFor(bulk, ${key}, ${reopened}) is the version-5 style id written before`, () => {
    assert.equal(jobIdFor(bulk, key, reopened), id);
  });
}
