/** SQL of the key/value `setting` table, as functions of the schema name. */
import { ident } from '../pool.ts';

/** $1 key. */
export const selectSetting = (s: string) => `SELECT value FROM ${ident(s)}.setting WHERE key = $1`;

/**
 * $1 key, $2 value. Keeps an existing value: two servers generating a value at the same moment
 * both re-read afterwards and agree on the one that was inserted first.
 */
export const insertSettingIfAbsent = (s: string) =>
  `INSERT INTO ${ident(s)}.setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`;
