/** The SQL of entity-key order rules (see order-keys.ts). */
import { ident } from '../db/pool.ts';
import { bulkUnfinishedSql, unfinishedSql as UNFINISHED } from './finished.ts';

/** One writer of the rules at a time (consumers starting together). $1 text, the schema's name. */
export const lockOrderRules = `SELECT pg_advisory_xact_lock(hashtext('magento-async:order-rules:' || $1))`;

/** For the rest of the transaction: no statement timeout. */
export const noStatementTimeout = `SET LOCAL statement_timeout = 0`;

/**
 * Replaces the entity-key rules of these operationIds. $1 text[] ids, $2 text[] namespaces, $3 text[]
 * JSON path lists. Returns the operationIds whose rule is new or changed.
 */
export function upsertOrderRules(schema: string): string {
  return `INSERT INTO ${ident(schema)}.order_key_rule (operation_id, namespace, paths)
    SELECT id, ns, ARRAY(SELECT jsonb_array_elements_text(p::jsonb))
    FROM unnest($1::text[], $2::text[], $3::text[]) AS r(id, ns, p)
    ON CONFLICT (operation_id) DO UPDATE SET namespace = excluded.namespace, paths = excluded.paths
    WHERE order_key_rule.namespace IS DISTINCT FROM excluded.namespace
      OR order_key_rule.paths IS DISTINCT FROM excluded.paths
    RETURNING operation_id`;
}

/** Deletes the rules of these operationIds (switched off, `orderKeys: {X: null}`). $1 text[] ids. */
export function deleteOrderRules(schema: string): string {
  return `DELETE FROM ${ident(schema)}.order_key_rule WHERE operation_id = ANY($1::text[])`;
}

/**
 * Takes the operations of these operationIds out of their keys' order (their rule was switched off
 * or changed). $1 text[] ids.
 */
export function unorderOperations(schema: string): string {
  const s = ident(schema);
  return `DELETE FROM ${s}.operation_order p USING ${s}.operation o
    WHERE o.bulk_uuid = p.bulk_uuid AND o.operation_key = p.operation_key AND o.operation_id = ANY($1::text[])`;
}

/**
 * Gives the unfinished operations of these operationIds that have no place in their key's order
 * (accepted before their rule existed, or while it said something else) one, in acceptance order.
 * Only bulks with something unfinished are read, and a key is computed only for an operation
 * without a place (`unplaced`, materialized first): a consumer's start with every open operation
 * already placed reads each once and keys none (the planner otherwise computed `order_key_of` for
 * every one before looking: 6.5 s of a start at 100,000 open, 1.4 s without). $1 text[] ids.
 */
export function orderUnfinished(schema: string): string {
  const s = ident(schema);
  return `WITH unplaced AS MATERIALIZED (
      SELECT o.bulk_uuid, o.operation_key, o.operation_id, o.serialized_data
      FROM (SELECT c.bulk_uuid FROM ${s}.bulk_counter c GROUP BY c.bulk_uuid HAVING ${bulkUnfinishedSql('c')}) u
      JOIN ${s}.operation o ON o.bulk_uuid = u.bulk_uuid
      WHERE o.operation_id = ANY($1::text[]) AND ${UNFINISHED('o')}
        AND NOT EXISTS (SELECT 1 FROM ${s}.operation_order x
          WHERE x.bulk_uuid = o.bulk_uuid AND x.operation_key = o.operation_key))
    INSERT INTO ${s}.operation_order (order_key, bulk_uuid, operation_key)
    SELECT k, bulk_uuid, operation_key FROM (
      SELECT ${s}.order_key_of(r, o.serialized_data, b.store_id) AS k, o.bulk_uuid, o.operation_key, b.id AS bulk_id
      FROM unplaced o
      JOIN ${s}.bulk b ON b.uuid = o.bulk_uuid
      JOIN ${s}.order_key_rule r ON r.operation_id = o.operation_id
    ) keyed
    WHERE k IS NOT NULL
    ORDER BY bulk_id, operation_key
    ON CONFLICT DO NOTHING`;
}
