/**
 * Order per entity key: operations of one key in one store run in acceptance order. The key of an
 * operationId is its plugin's declaration, else the route's path parameters, namespaced by the
 * route's entity (table `order_key_rule`; triggers keep `operation_order`, 011_lifecycle.sql).
 */
import type { Pool } from '../db/pool.ts';
import * as sql from './order-keys.sql.ts';

/**
 * The entity-key rule of every route: the plugin's declaration, else the route's path parameters
 * (none: not ordered). Namespaced by the route's entity, so two routes of one entity share keys.
 */
export function orderRules(
  routes: readonly { operationId: string; entity: string; pathParams: readonly string[] }[],
  declared: ReadonlyMap<string, string[] | null>,
): { operationId: string; namespace: string; paths: string[] }[] {
  const rules = [];
  for (const r of routes) {
    const paths = declared.has(r.operationId)
      ? declared.get(r.operationId)
      : r.pathParams.length
        ? [...r.pathParams]
        : null;
    if (paths) rules.push({ operationId: r.operationId, namespace: r.entity, paths });
  }
  return rules;
}

/** Stores the rules, so operations accepted from now on get their key (see 011_lifecycle.sql). */
export async function saveOrderRules(pool: Pool, schema: string, rules: ReturnType<typeof orderRules>): Promise<void> {
  if (!rules.length) return;
  await pool.query(sql.upsertOrderRules(schema), [
    rules.map((r) => r.operationId),
    rules.map((r) => r.namespace),
    rules.map((r) => JSON.stringify(r.paths)),
  ]);
}
