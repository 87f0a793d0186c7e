/**
 * What a database holds, as one comparable value: every table of the given schemas (its row count
 * and a hash of all its rows) and every sequence (its last value). Two equal fingerprints taken
 * around a request mean it wrote nothing there, whatever table it could have touched.
 */
import { ident, type Pool } from '../../src/db/pool.ts';

export async function fingerprint(pool: Pool, schemas: readonly string[]): Promise<Record<string, string>> {
  const { rows: relations } = await pool.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'S')
      ORDER BY 1, 2`,
    [schemas],
  );
  if (!relations.length) return {};
  const parts = relations.map((r) => {
    const name = `${ident(r.schema)}.${ident(r.name)}`;
    const label = `'${`${r.schema}.${r.name}`.replaceAll("'", "''")}'`;
    return r.kind === 'S'
      ? `SELECT ${label} AS relation, (SELECT last_value::text || '/' || is_called::text FROM ${name}) AS state`
      : `SELECT ${label} AS relation, (SELECT count(*)::text || '/' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ${name} t) AS state`;
  });
  const { rows } = await pool.query<{ relation: string; state: string }>(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.relation, r.state]));
}
