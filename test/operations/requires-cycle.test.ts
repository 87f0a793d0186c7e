/**
 * Dependency cycles (cycles.ts): the shortest cycle through an operation in the waits reachable from
 * it (findCycle, when a wait begins), and the cycles among the items of one bulk (bulkCycles, at
 * accept).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bulkCycles, cycleMessage, findCycle, type BulkItemKeys } from '../../src/operations/cycles.ts';

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

describe('the cycles among the items of one bulk', () => {
  /** Item `index` provides products `sku` and requires the products of `needs`. */
  const item = (index: number, sku: string | null, ...needs: string[]): BulkItemKeys => ({
    index,
    provides: sku === null ? null : `products@1:${sku}`,
    requires: needs.map((n) => `products@1:${n}`),
  });
  const cycles = (items: BulkItemKeys[]) =>
    Object.fromEntries([...bulkCycles(items)].map(([i, steps]) => [i, steps.map((s) => `${s.index}>${s.need}`)]));

  const cases: [string, BulkItemKeys[], Record<number, string[]>][] = [
    ['children before their parents: none', [item(0, 'c1', 'p'), item(1, 'c2', 'p'), item(2, 'p')], {}],
    ['a key nothing in the bulk provides: none', [item(0, 'a', 'elsewhere')], {}],
    ['its own key: left to the key order', [item(0, 'a', 'a'), item(1, 'a', 'a')], {}],
    [
      'two requiring each other; one only waiting for them is not on it',
      [item(0, 'a', 'b'), item(1, 'b', 'a'), item(2, 'c', 'a')],
      { 0: ['0>products@1:b', '1>products@1:a'], 1: ['1>products@1:a', '0>products@1:b'] },
    ],
    [
      'a ring of three, each named from itself',
      [item(3, 'a', 'b'), item(5, 'b', 'c'), item(9, 'c', 'a')],
      {
        3: ['3>products@1:b', '5>products@1:c', '9>products@1:a'],
        5: ['5>products@1:c', '9>products@1:a', '3>products@1:b'],
        9: ['9>products@1:a', '3>products@1:b', '5>products@1:c'],
      },
    ],
    [
      'waiting for every provider of a key: a later update of b that requires a closes a cycle',
      [item(0, 'a', 'b'), item(1, 'b'), item(2, 'b', 'a')],
      { 0: ['0>products@1:b', '2>products@1:a'], 2: ['2>products@1:a', '0>products@1:b'] },
    ],
    ['an item providing nothing cannot be waited for', [item(0, null, 'b'), item(1, 'b', 'x')], {}],
  ];
  for (const [what, items, expected] of cases) it(what, () => assert.deepEqual(cycles(items), expected));

  it('thousands of items on two keys requiring each other: each is named, in time linear per item', () => {
    const items = Array.from({ length: 5000 }, (_, i) => item(i, i % 2 ? 'a' : 'b', i % 2 ? 'b' : 'a'));
    const found = bulkCycles(items);
    assert.equal(found.size, 5000);
    assert.deepEqual(found.get(7), [
      { index: 7, need: 'products@1:b' },
      { index: 0, need: 'products@1:a' },
    ]);
  });
});
