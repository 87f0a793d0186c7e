/**
 * What the items of a bulk being accepted provide and require (docs/dependencies.md), so accept can
 * refuse operations that would wait for each other in a cycle before storing them
 * (AcceptDependencies.dependencies). Each item is read as its consumer will read it: the entity key
 * it provides from its stored arguments (the route's order rule, as `order_key_of` does), the keys
 * it requires from every plugin's `requires` on the handler's arguments.
 */
import type { ItemDependencies } from '../accept/accept.ts';
import type { InputValidator } from '../accept/prepare.ts';
import { orderRules, providedKey } from '../operations/order-keys.ts';
import { requiredKeys } from '../operations/requires.ts';
import type { Route } from '../routes/types.ts';
import { handlerArgs, storedArgsOf } from './coerce.ts';
import type { PluginRegistry } from './registry.ts';

export function itemDependencies(
  registry: PluginRegistry,
  routes: readonly Route[],
  validators: Readonly<Record<string, InputValidator | undefined>>,
): ItemDependencies | undefined {
  if (!registry.requires.size) return undefined;
  const rules = new Map(orderRules(routes, registry.orderKeys).map((r) => [r.operationId, r]));
  return (route, store) => {
    const declared = registry.requires.get(route.operationId);
    if (!declared?.length) return undefined;
    const rule = rules.get(route.operationId);
    const validator =
      registry.describe(route.operationId)?.kind === 'fallback' ? undefined : validators[route.operationId];
    return (plain) => {
      const args = storedArgsOf(plain);
      // Before the coercion, which works in place: the key is read from what is stored.
      const provides = rule ? providedKey(rule, args, store.id) : null;
      let requires: string[] = [];
      try {
        requires = requiredKeys(declared, handlerArgs(args, validator), store.id);
      } catch {
        // A `requires` that throws: left to its consumer, which fails the operation saying so.
      }
      return { provides, requires };
    };
  };
}
