/**
 * The async and bulk schema documents as served, with what the loaded plugins say about
 * dependencies (docs/dependencies.md), which codegen cannot know (`requires` are plugins' functions,
 * loaded by serve): an operation whose plugins declare `requires` says that it waits for what it
 * references, naming the plugins; while any operation requires, every operation with an entity key
 * says which key it provides, since operations requiring that key wait for it. Both in the
 * operation's `description` and in `x-magento-async-dependencies`.
 */
import { orderRules } from '../operations/order-keys.ts';
import type { Route } from '../routes/types.ts';

type Operation = { operationId?: string; description?: string } & Record<string, unknown>;
type Doc = { paths?: Record<string, Record<string, Operation>> } & Record<string, unknown>;

export interface DeclaredDependencies {
  /** The plugins declaring each operationId's `requires`. */
  requiredBy: ReadonlyMap<string, readonly string[]>;
  /** The plugins' entity-key declarations (`orderKeys`). */
  orderKeys: ReadonlyMap<string, string[] | null>;
}

export const REQUIRES_TEXT =
  'Waits for what it references: while an accepted operation providing an entity key this one requires is not finished, it waits (open, its result_message saying for what), runs once that one is complete, and fails naming it if that one fails. Operations of one bulk that require each other in a cycle are refused (400 "Dependency cycle: …", or each rejected with partialAccept).';

export function withDependencies<S extends { async: unknown; bulk: unknown }>(
  schemas: S,
  routes: readonly Route[],
  declared: DeclaredDependencies,
): S {
  if (!declared.requiredBy.size) return schemas;
  const provides = new Map(
    orderRules(routes, declared.orderKeys)
      .filter((r) => r.paths !== null)
      .map((r) => [r.operationId, { entity: r.namespace, key: r.paths! }]),
  );
  const describe = (doc: Doc): Doc => {
    const paths: NonNullable<Doc['paths']> = {};
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      paths[path] = {};
      for (const [method, operation] of Object.entries(item)) {
        const id = operation.operationId ?? '';
        const plugins = declared.requiredBy.get(id);
        const key = provides.get(id);
        if (!plugins && !key) {
          paths[path][method] = operation;
          continue;
        }
        const text = [
          operation.description,
          plugins && `${REQUIRES_TEXT} Declared by ${plugins.join(', ')}.`,
          key &&
            `Provides the entity key ${key.entity} (${key.key.join(', ')}): operations requiring it wait for this one.`,
        ].filter(Boolean);
        paths[path][method] = {
          ...operation,
          description: text.join('\n\n'),
          'x-magento-async-dependencies': {
            ...(key && { provides: key }),
            ...(plugins && { requires: { plugins } }),
          },
        };
      }
    }
    return { ...doc, paths };
  };
  return { ...schemas, async: describe(schemas.async as Doc), bulk: describe(schemas.bulk as Doc) };
}
