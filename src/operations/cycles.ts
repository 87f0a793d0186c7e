/**
 * Dependency cycles (docs/dependencies.md): operations that wait, through each other, for
 * themselves, and could never run. Found in two places, worded alike (E.DEPENDENCY_CYCLE):
 * - at accept, among the items of one bulk ({@link bulkCycles}): the request is refused, or each
 *   member rejected with partialAccept;
 * - when a wait begins (requires.ts), among the waits recorded across bulks ({@link findCycle}):
 *   the waiting members fail.
 */
import { E, renderTemplate } from '../errors/catalogue.ts';
import { addressOf } from './operation.ts';

/**
 * A cycle as its message names it: each member, the key it requires, and back to the first
 * (E.DEPENDENCY_CYCLE, the wording accept refuses a bulk's cycle with too).
 */
export function cycleMessage(steps: readonly { bulk: string; key: number; need: string }[]): string {
  return renderTemplate(E.DEPENDENCY_CYCLE.template, {
    cycle: cycleSteps(steps.map((s) => ({ member: `operation ${s.key} of bulk ${s.bulk}`, need: s.need }))),
  });
}

/** The `%cycle` of E.DEPENDENCY_CYCLE: `<member> requires <key>, provided by <member> requires …`. */
export function cycleSteps(steps: readonly { member: string; need: string }[]): string {
  return steps.map((s) => `${s.member} requires ${s.need}`).join(', provided by ');
}

/** One item of a bulk being accepted: the entity key it provides (or none) and the keys it requires. */
export interface BulkItemKeys {
  index: number;
  provides: string | null;
  requires: readonly string[];
}

/**
 * The cycles among the operations of one bulk, found before it is stored: the waits its consumer
 * would find (an item waits for every other item providing a key it requires, except a key it
 * provides itself, which the key's order handles) that lead back to the item. Returns, for each
 * item on a cycle, the shortest cycle through it as its steps (each member's index and the key by
 * which it waits for the next); items only waiting for a cycle are not on it.
 *
 * Keys are nodes of the graph beside the items (item → key it requires → item providing it), so
 * many items of one key cost their number, not its square; each item's cycle is a breadth-first
 * search from it, only in its strongly connected component.
 */
export function bulkCycles(items: readonly BulkItemKeys[]): Map<number, { index: number; need: string }[]> {
  // Nodes: items 0..n-1 (by position), then keys n..
  const n = items.length;
  const keyNode = new Map<string, number>();
  const node = (key: string) => {
    let k = keyNode.get(key);
    if (k === undefined) keyNode.set(key, (k = n + keyNode.size));
    return k;
  };
  const out: number[][] = items.map(() => []);
  const add = (from: number, to: number) => (out[from] ??= []).push(to);
  for (const [i, item] of items.entries()) {
    if (item.provides !== null) add(node(item.provides), i);
  }
  for (const [i, item] of items.entries()) {
    for (const need of item.requires) {
      // A key nothing in the bulk provides leads nowhere here.
      if (need !== item.provides && keyNode.has(need)) add(i, keyNode.get(need)!);
    }
  }
  const keyOf = [...keyNode.keys()];
  const size = n + keyNode.size;
  const component = stronglyConnected(size, (v) => out[v] ?? []);
  const cycles = new Map<number, { index: number; need: string }[]>();
  const via = new Int32Array(size);
  const seen = new Int32Array(size);
  for (let start = 0; start < n; start++) {
    const c = component[start]!;
    if (!(out[start] ?? []).some((k) => component[k] === c)) continue;
    // On a cycle, so something waits for it: the key it provides closes the cycle. Breadth first
    // from the item, in its component; an item found with an edge to that key ends the search (the
    // shortest: every item of one depth is found before any of the next).
    const closing = keyNode.get(items[start]!.provides!)!;
    const stamp = start + 1;
    seen[start] = stamp;
    const queue = [start];
    search: for (let q = 0; q < queue.length; q++) {
      const from = queue[q]!;
      for (const to of out[from] ?? []) {
        if (component[to] !== c || seen[to] === stamp) continue;
        seen[to] = stamp;
        via[to] = from;
        if (to < n && (out[to] ?? []).includes(closing)) {
          via[closing] = to;
          break search;
        }
        queue.push(to);
      }
    }
    // Walk back: items alternate with keys; each item's step is the key after it.
    const path = [closing];
    for (let at = closing; at !== start;) path.unshift((at = via[at]!));
    const steps: { index: number; need: string }[] = [];
    for (let p = 0; p < path.length; p += 2) {
      steps.push({ index: items[path[p]!]!.index, need: keyOf[path[p + 1]! - n]! });
    }
    cycles.set(items[start]!.index, steps);
  }
  return cycles;
}

/** Tarjan's strongly connected components, iteratively (a bulk of thousands must not overflow). */
function stronglyConnected(size: number, edges: (v: number) => readonly number[]): Int32Array {
  const index = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const component = new Int32Array(size).fill(-1);
  const onStack = new Uint8Array(size);
  const stack: number[] = [];
  let next = 0;
  let components = 0;
  for (let root = 0; root < size; root++) {
    if (index[root] !== -1) continue;
    const frames: { v: number; e: number }[] = [{ v: root, e: 0 }];
    index[root] = low[root] = next++;
    stack.push(root);
    onStack[root] = 1;
    while (frames.length) {
      const frame = frames[frames.length - 1]!;
      const list = edges(frame.v);
      if (frame.e < list.length) {
        const w = list[frame.e++]!;
        if (index[w] === -1) {
          index[w] = low[w] = next++;
          stack.push(w);
          onStack[w] = 1;
          frames.push({ v: w, e: 0 });
        } else if (onStack[w]) low[frame.v] = Math.min(low[frame.v]!, index[w]!);
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low[parent.v] = Math.min(low[parent.v]!, low[frame.v]!);
      if (low[frame.v] === index[frame.v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component[w] = components;
        } while (w !== frame.v);
        components++;
      }
    }
  }
  return component;
}

/** One recorded wait: an operation waiting, by a key it requires, for the one providing it. */
export interface Edge {
  bulk_uuid: string;
  operation_key: number;
  need: string;
  on_bulk: string;
  on_key: number;
}

/**
 * The shortest cycle through `start` in its reachable waits (breadth first), as its steps: each
 * member and the key by which it waits for the next; null when there is none.
 */
export function findCycle(start: string, edges: readonly Edge[]): { bulk: string; key: number; need: string }[] | null {
  const out = new Map<string, Edge[]>();
  for (const e of edges) {
    const from = addressOf(e.bulk_uuid, e.operation_key);
    out.set(from, [...(out.get(from) ?? []), e]);
  }
  const via = new Map<string, Edge>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const e of out.get(queue[i]!) ?? []) {
      const to = addressOf(e.on_bulk, e.on_key);
      if (to === start) {
        const steps = [{ bulk: e.bulk_uuid, key: e.operation_key, need: e.need }];
        for (let at = addressOf(e.bulk_uuid, e.operation_key); at !== start;) {
          const step = via.get(at)!;
          steps.unshift({ bulk: step.bulk_uuid, key: step.operation_key, need: step.need });
          at = addressOf(step.bulk_uuid, step.operation_key);
        }
        return steps;
      }
      if (!via.has(to)) {
        via.set(to, e);
        queue.push(to);
      }
    }
  }
  return null;
}
