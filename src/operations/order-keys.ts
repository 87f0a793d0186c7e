/**
 * Order per entity key: operations of one key in one store run in acceptance order. The key of an
 * operationId is its plugin's declaration, else the route's path parameters, namespaced by the
 * route's entity (table `order_key_rule`; triggers keep `operation_order`, 011_lifecycle.sql).
 */
import { withTransaction, type Pool } from '../db/pool.ts';
import * as sql from './order-keys.sql.ts';
import { keyValueText } from './key-text.ts';

/**
 * The entity-key rule of every route: the plugin's declaration, else the route's path parameters;
 * `paths: null` when it has none (declared `null`, or no path parameters): not ordered. Namespaced
 * by the route's entity, so two routes of one entity share keys.
 */
export function orderRules(
  routes: readonly { operationId: string; entity: string; pathParams: readonly string[] }[],
  declared: ReadonlyMap<string, string[] | null>,
): OrderRule[] {
  return routes.map((r) => ({
    operationId: r.operationId,
    namespace: r.entity,
    paths: declared.has(r.operationId)
      ? (declared.get(r.operationId) ?? null)
      : r.pathParams.length
        ? [...r.pathParams]
        : null,
  }));
}

export interface OrderRule {
  operationId: string;
  namespace: string;
  paths: string[] | null;
}

/**
 * Stores the rules of these routes (table `order_key_rule`), so operations accepted from now on get
 * their key (011_lifecycle.sql); a rule switched off (`paths: null`) is deleted and its operations
 * leave their keys' order. Operations still unfinished that were accepted before their rule existed
 * (before the first server or consumer started) or while it said something else get their place
 * now, in acceptance order. Consumers call it at start, before they fetch; servers at start, before
 * they accept, so that accept keys what it inserts.
 */
export async function saveOrderRules(pool: Pool, schema: string, rules: readonly OrderRule[]): Promise<void> {
  if (!rules.length) return;
  const on = rules.filter((r): r is OrderRule & { paths: string[] } => r.paths !== null);
  const off = rules.filter((r) => r.paths === null).map((r) => r.operationId);
  await withTransaction(pool, async (client) => {
    await client.query(sql.lockOrderRules, [schema]);
    const { rows: changed } = await client.query<{ operation_id: string }>(sql.upsertOrderRules(schema), [
      on.map((r) => r.operationId),
      on.map((r) => r.namespace),
      on.map((r) => JSON.stringify(r.paths)),
    ]);
    const { rowCount: deleted } = await client.query(sql.deleteOrderRules(schema), [off]);
    const unorder = [...changed.map((r) => r.operation_id), ...(deleted ? off : [])];
    if (unorder.length) await client.query(sql.unorderOperations(schema), [unorder]);
    // A backlog accepted before the first consumer is keyed here in one statement, whose time grows
    // with the backlog: 1,000,000 open operations took longer than the 60 s statement timeout on a
    // busy 2-core machine (bench:depth), and the consumer exited instead of starting.
    await client.query(sql.noStatementTimeout);
    await client.query(sql.orderUnfinished(schema), [on.map((r) => r.operationId)]);
  });
}

/**
 * The entity key an operation of this rule provides, from its arguments as stored
 * (`meta_information`), as `order_key_of` computes it in SQL (011_lifecycle.sql): `<namespace>@<store
 * id>:<values>`, values joined by U+001F, each the text of the value at its dotted path (key-text.ts);
 * null when a value is missing, null or not a scalar, or the rule has no paths. Accept uses it before the operation is stored.
 */
export function providedKey(rule: OrderRule, args: unknown, storeId: number): string | null {
  if (!rule.paths) return null;
  const values: string[] = [];
  for (const path of rule.paths) {
    let v: unknown = args;
    for (const part of path.split('.')) {
      v =
        v !== null && typeof v === 'object' && Object.hasOwn(v, part)
          ? (v as Record<string, unknown>)[part]
          : undefined;
    }
    const text = keyValueText(v);
    if (text === null) return null;
    values.push(text);
  }
  return `${rule.namespace}@${storeId}:${values.join('\u001f')}`;
}
