/** The SQL of entity-key order rules (see order-keys.ts). */
import { ident } from '../db/pool.ts';

/** Replaces the entity-key rules of these operationIds. $1 text[] ids, $2 text[] namespaces, $3 text[] JSON path lists. */
export function upsertOrderRules(schema: string): string {
  return `INSERT INTO ${ident(schema)}.order_key_rule (operation_id, namespace, paths)
    SELECT id, ns, ARRAY(SELECT jsonb_array_elements_text(p::jsonb))
    FROM unnest($1::text[], $2::text[], $3::text[]) AS r(id, ns, p)
    ON CONFLICT (operation_id) DO UPDATE SET namespace = excluded.namespace, paths = excluded.paths
    WHERE order_key_rule.namespace IS DISTINCT FROM excluded.namespace
      OR order_key_rule.paths IS DISTINCT FROM excluded.paths`;
}
