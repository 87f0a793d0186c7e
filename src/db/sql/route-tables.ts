/** SQL of the served route tables (`route_table`), as functions of the schema name. */
import { ident } from '../pool.ts';

/** The channel servers notify after registering a table; consumers listen on it. */
export const routeTableChannel = (s: string) => `${s}_route_table`;

/** $1 digest, $2 source, $3 routes (json). */
export const upsertRouteTable = (s: string) =>
  `INSERT INTO ${ident(s)}.route_table (digest, source, routes) VALUES ($1, $2, $3::jsonb)
   ON CONFLICT (digest) DO UPDATE SET source = EXCLUDED.source, last_served_at = now()`;

/** Most recently served first, so its routes win when two tables name the same operation. */
export const selectRouteTables = (s: string) =>
  `SELECT digest, source, routes FROM ${ident(s)}.route_table ORDER BY last_served_at DESC, digest`;

export const selectRouteTableDigests = (s: string) =>
  `SELECT string_agg(digest, ',' ORDER BY digest) AS digests FROM ${ident(s)}.route_table`;
