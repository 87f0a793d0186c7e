/**
 * SQL of plugin migrations: each plugin's own schema and its version table, and the check that no
 * two schemas on a handler's search path hold a relation of the same name. Functions of the schema.
 */
import { ident } from '../pool.ts';

/**
 * A plugin's version table lives in its own schema. The name is reserved: a plugin table called this
 * would be mistaken for it.
 */
export const PLUGIN_VERSION_TABLE = 'magento_async_migration';

export const createPluginSchema = (ps: string) =>
  `CREATE SCHEMA IF NOT EXISTS ${ident(ps)};
   CREATE TABLE IF NOT EXISTS ${ident(ps)}.${PLUGIN_VERSION_TABLE} (
     version     integer PRIMARY KEY,
     checksum    text NOT NULL,
     applied_at  timestamptz NOT NULL DEFAULT now()
   )`;

export const selectAppliedVersions = (ps: string) =>
  `SELECT version, checksum FROM ${ident(ps)}.${PLUGIN_VERSION_TABLE} ORDER BY version`;

/** $1 version, $2 checksum. */
export const insertAppliedVersion = (ps: string) =>
  `INSERT INTO ${ident(ps)}.${PLUGIN_VERSION_TABLE} (version, checksum) VALUES ($1, $2)`;

/** Only the plugin's schema: its unqualified names can neither find nor reuse ours. */
export const setMigrationSearchPath = (ps: string) => `SET LOCAL search_path TO ${ident(ps)}`;

/**
 * $1 schemas (ours first, then the plugins'): relation names found in more than one of them, with
 * the schemas holding each. The version tables are the same name everywhere by design and never
 * read unqualified, so they do not count.
 */
export const selectSharedRelationNames = () =>
  `SELECT c.relname AS name, array_agg(n.nspname::text ORDER BY array_position($1::text[], n.nspname::text)) AS schemas
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY ($1::text[])
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND c.relname <> '${PLUGIN_VERSION_TABLE}'
    GROUP BY c.relname
   HAVING count(*) > 1
    ORDER BY c.relname`;
