/**
 * What an operation requires before it runs (a plugin's `requires`, src/operations/requires.ts):
 * the entity keys of operations it references, so it waits while one of them is still pending.
 */
import type { AnyArgs } from './handler.ts';

/** One required entity key. */
export interface Requirement {
  /** The entity, as routes name it (`products`: the `<entity>` of the `async.<entity>` queue). */
  entity: string;
  /** Its key: one value (a sku), or the values of a key of several paths, in their order. */
  key: string | number | readonly (string | number)[];
}

/** A plugin's declaration for one operationId: the keys an operation requires, from its arguments. */
export type Requires<A = AnyArgs> = (args: A) => readonly Requirement[];
