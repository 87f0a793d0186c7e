/** The shortest cycle through an operation in the waits reachable from it (findCycle, requires.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cycleMessage, findCycle } from '../../src/operations/requires.ts';

const B = '00000000-0000-4000-8000-000000000000';
/** A wait: operation `from` requires `need`, provided by operation `to` (all of bulk B). */
const wait = (from: number, to: number, need = `products@1:k${to}`) => ({
  bulk_uuid: B,
  operation_key: from,
  need,
  on_bulk: B,
  on_key: to,
});
const start = (key: number) => `${B}:${key}`;

describe('finding a cycle of waits', () => {
  const cases: [string, number, ReturnType<typeof wait>[], number[] | null][] = [
    ['no waits', 0, [], null],
    ['a chain that ends', 0, [wait(0, 1), wait(1, 2)], null],
    ['two waiting for each other', 0, [wait(0, 1), wait(1, 0)], [0, 1]],
    ['three in a ring', 1, [wait(0, 1), wait(1, 2), wait(2, 0)], [1, 2, 0]],
    ['the shortest of two rings', 0, [wait(0, 1), wait(1, 2), wait(2, 0), wait(0, 3), wait(3, 0)], [0, 3]],
    ['a ring it only leads into: not its cycle', 0, [wait(0, 1), wait(1, 2), wait(2, 1)], null],
  ];
  for (const [what, from, edges, expected] of cases) {
    it(what, () => {
      const cycle = findCycle(start(from), edges);
      assert.deepEqual(cycle && cycle.map((s) => s.key), expected);
    });
  }

  it('the message names each member and the key by which it waits for the next', () => {
    assert.equal(
      cycleMessage(findCycle(start(0), [wait(0, 1), wait(1, 0)])!),
      `Dependency cycle: operation 0 of bulk ${B} requires products@1:k1, provided by operation 1 of bulk ${B} requires products@1:k0, provided by the first: none can run.`,
    );
  });
});
