/**
 * What a database holds, as one comparable value: every table of the given schemas (its row count
 * and a hash of all its rows) and every sequence (its last value). Two equal fingerprints taken
 * around a request mean it wrote nothing there, whatever table it could have touched.
 */
import { ident, type Pool } from '../../src/db/pool.ts';
import { prepared } from '../../src/db/prepared.ts';

/** A pool, or the test kit's `query` (rows only). */
type Query = Pool | { query(text: string, values?: unknown[]): Promise<{ rows: any[] } | any[]> };

/**
 * pg-boss's own bookkeeping, written by its timers whatever any request does: each process's
 * heartbeat and pool figures (`instance`) and when its monitors last ran (`version`).
 */
export const PGBOSS_TIMERS = ['instance', 'version'] as const;

/** `ignored`: relations (`schema.name`) left out, e.g. pg-boss's timers in its schema. */
export async function fingerprint(
  db: Query,
  schemas: readonly string[],
  ignored: readonly string[] = [],
): Promise<Record<string, string>> {
  // On a pool, each statement is prepared once per connection: planning the union below (one
  // branch per relation, about forty for a served schema and its pg-boss) took 11 ms of
  // PostgreSQL's CPU against 1 ms to run it, and a test takes two fingerprints per request. With
  // no parameter, PostgreSQL keeps one plan for it; the text names every relation, so a table
  // made or dropped is a new statement.
  const rowsOf = async <R>(text: string, values?: unknown[]): Promise<R[]> => {
    const result = 'connect' in db ? await db.query(prepared(text, values ?? [])) : await db.query(text, values);
    return (Array.isArray(result) ? result : result.rows) as R[];
  };
  // A schema's relations found through their dependency on it (pg_depend's index, as DROP SCHEMA
  // finds them), not by scanning pg_class: the suite makes and drops hundreds of schemas, and on a
  // PostgreSQL without autovacuum pg_class grows dead rows that a scan reads every time (7.7 ms a
  // call on the shared machine, 0.5 ms this way). Every table, partition and sequence has the link.
  const relations = await rowsOf<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
       FROM pg_namespace n
       JOIN pg_depend d
         ON d.refclassid = 'pg_namespace'::regclass AND d.refobjid = n.oid AND d.classid = 'pg_class'::regclass
       JOIN pg_class c ON c.oid = d.objid
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'S')
      ORDER BY 1, 2`,
    [schemas],
  );
  const kept = relations.filter((r) => !ignored.includes(`${r.schema}.${r.name}`));
  if (!kept.length) return {};
  const parts = kept.map((r) => {
    const name = `${ident(r.schema)}.${ident(r.name)}`;
    const label = `'${`${r.schema}.${r.name}`.replaceAll("'", "''")}'`;
    return r.kind === 'S'
      ? `SELECT ${label} AS relation, (SELECT last_value::text || '/' || is_called::text FROM ${name}) AS state`
      : `SELECT ${label} AS relation, (SELECT count(*)::text || '/' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ${name} t) AS state`;
  });
  const rows = await rowsOf<{ relation: string; state: string }>(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.relation, r.state]));
}
