/**
 * The route tables servers mount, shared through the database. A server registers its table (from
 * codegen or from `serve --spec`) at start; a consumer runs the union of every registered table and
 * of its own generated one, and follows new registrations. So whatever a server on this database
 * accepts, a consumer started anywhere works its queue, and no accepted operation waits for a
 * consumer that does not exist.
 */
import { createHash } from 'node:crypto';
import type { Pool } from '../db/pool.ts';
import {
  routeTableChannel,
  selectRouteTableDigests,
  selectRouteTables,
  upsertRouteTable,
} from '../db/sql/route-tables.ts';
import type { Route } from '../routes/types.ts';

export function routeTableDigest(routes: readonly Route[]): string {
  return createHash('sha256').update(JSON.stringify(routes)).digest('hex');
}

/** Registers the table a server mounts and wakes consumers; returns its digest. */
export async function publishRouteTable(
  pool: Pool,
  schema: string,
  routes: readonly Route[],
  source: string,
): Promise<string> {
  const digest = routeTableDigest(routes);
  await pool.query(upsertRouteTable(schema), [digest, source, JSON.stringify(routes)]);
  await pool.query('SELECT pg_notify($1, $2)', [routeTableChannel(schema), digest]);
  return digest;
}

export interface ServedRoutes {
  /** One route per operationId: the most recently served table wins, then the local one. */
  routes: Route[];
  /** Sources of the tables taken from the database (spec file names, `serve --spec` sources). */
  sources: string[];
  /** Identifies the set of registered tables; changes when a server registers a new one. */
  version: string;
}

/** What the registered tables add up to, together with `local` (this checkout's generated routes). */
export async function servedRoutes(pool: Pool, schema: string, local: readonly Route[]): Promise<ServedRoutes> {
  const { rows } = await pool.query<{ digest: string; source: string; routes: Route[] }>(selectRouteTables(schema));
  const byOperation = new Map<string, Route>();
  for (const table of [...rows.map((r) => r.routes), local]) {
    for (const route of table) if (!byOperation.has(route.operationId)) byOperation.set(route.operationId, route);
  }
  return {
    routes: [...byOperation.values()],
    sources: rows.map((r) => r.source),
    version: rows
      .map((r) => r.digest)
      .sort()
      .join(','),
  };
}

/** The cheap check a following consumer polls: the `version` of `servedRoutes`. */
export async function servedVersion(pool: Pool, schema: string): Promise<string> {
  const { rows } = await pool.query<{ digests: string | null }>(selectRouteTableDigests(schema));
  return rows[0]?.digests ?? '';
}
