/**
 * Finds, imports and validates plugins at start, then builds the registry. Everything wrong with
 * every plugin is collected into one PluginLoadError, so an operator fixes all problems in one pass
 * instead of restarting once per mistake.
 *
 * A plugin module is `plugins/<dir>/index.ts` (or an npm package) whose default export is a
 * PluginDefinition. Two optional named exports extend it without changing the plugin API:
 * - `migrations: string[]`: idempotent SQL for the plugin's own tables, with unqualified names.
 *   They are exposed as `registry.installs`; `runInstalls` applies them with `search_path` set to
 *   our schema, which is also where handlers find those tables at run time.
 * - `fallback(options)`: returns a handler factory for operations nobody implements (http-forward).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BatchHandler, Handler, Interceptor, PluginDefinition } from './api.ts';
import {
  activeInterceptors,
  parseReference,
  PluginRegistry,
  resolveClaims,
  type Fallback,
  type Install,
} from './registry.ts';
import { importPackages } from './packages.ts';
import { expandServiceHandlers, isServiceTarget } from './targets.ts';
import { satisfies, validRange } from './version.ts';
import { ident, type Pool } from '../db/pool.ts';
import type { Route } from '../routes/types.ts';

export interface UpstreamConfig {
  /** REST root of the synchronous store, e.g. `https://shop.example.com/rest`. */
  baseUrl: string;
  /** Integration or admin token sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Per-request timeout; a timeout is retriable. Default 30 s. */
  timeoutMs?: number;
  /** Calls in flight at once to this upstream, per consumer process. Default 16. */
  maxInFlight?: number;
  /** Calls started per second to this upstream, per consumer process. Default none. */
  maxPerSecond?: number | null;
}

export interface FallbackOptions {
  routes: readonly Route[];
  upstream?: UpstreamConfig | undefined;
}

/** Named export `fallback` of a plugin module; returns undefined when it has nothing to offer. */
export type FallbackFactory = (options: FallbackOptions) => Fallback | undefined;

export interface LoadOptions {
  routes: readonly Route[];
  /** Directory whose `<dir>/index.ts` files are plugins; relative to the working directory. */
  pluginsDir?: string | null;
  /** npm package names (or absolute module paths) whose default export is a plugin (src/plugins/packages.ts). */
  packages?: readonly string[];
  /** Where `packages` are looked up (its node_modules, then its parents'). Default: the working directory. */
  projectDir?: string;
  upstream?: UpstreamConfig | undefined;
  /** Plugin modules already in memory (tests, embedding), validated like the others, loaded last. */
  modules?: readonly { source: string; module: Record<string, unknown> }[];
  /** Version `compatibility` ranges are checked against; default: this package's version. */
  frameworkVersion?: string;
}

export class PluginLoadError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `Cannot load plugins (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'PluginLoadError';
    this.problems = problems;
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

interface Candidate {
  /** Where the plugin came from, as error messages name it. */
  source: string;
  module: Record<string, unknown>;
}

const NAME = /^[A-Z][A-Za-z0-9]*_[A-Z][A-Za-z0-9]*$/;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling link
  }
}

async function importCandidates(options: LoadOptions, problems: string[]): Promise<Candidate[]> {
  const candidates: Candidate[] = [];
  // `pluginsDir: null` loads no directory (only packages and modules).
  const dir = options.pluginsDir === null ? null : resolve(options.pluginsDir ?? 'plugins');
  const entries =
    dir && existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          // A linked folder (npm/pnpm workspaces, `ln -s`) is a plugin folder like any other.
          .filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDirectory(join(dir!, e.name))))
          .map((e) => e.name)
          .sort()
      : [];
  const targets: { source: string; specifier: string }[] = [];
  for (const name of entries) {
    const file = join(dir!, name, 'index.ts');
    if (existsSync(file))
      targets.push({
        source: join(options.pluginsDir ?? 'plugins', name, 'index.ts'),
        specifier: pathToFileURL(file).href,
      });
  }
  for (const t of targets) {
    try {
      candidates.push({ source: t.source, module: (await import(t.specifier)) as Record<string, unknown> });
    } catch (error) {
      problems.push(`${t.source}: cannot be imported: ${(error as Error).message}`);
    }
  }
  candidates.push(
    ...(await importPackages(
      options.packages ?? [],
      { projectDir: options.projectDir, frameworkVersion: options.frameworkVersion ?? packageVersion() },
      problems,
    )),
  );
  candidates.push(...(options.modules ?? []));
  return candidates;
}

interface Checked {
  name: string;
  source: string;
  definition: PluginDefinition;
  handlers: Record<string, Handler | undefined>;
  batchHandlers: Record<string, BatchHandler | undefined>;
  interceptors: Interceptor[];
  replaces: string[];
  migrations: string[];
  orderKeys: Record<string, string[] | null>;
  fallback?: FallbackFactory | undefined;
}

function checkPlugin(c: Candidate, operations: Set<string>, version: string, problems: string[]): Checked | null {
  const def = c.module.default as PluginDefinition | undefined;
  if (!def || typeof def !== 'object') {
    problems.push(`${c.source}: has no default export; export default definePlugin({...}).`);
    return null;
  }
  const label = `${typeof def.name === 'string' && def.name ? def.name : '(unnamed plugin)'} (${c.source})`;
  const say = (why: string) => problems.push(`${label}: ${why}`);
  const before = problems.length;
  if (typeof def.name !== 'string' || !NAME.test(def.name)) {
    say(`name ${JSON.stringify(def.name)} is not a Magento-style "Vendor_Module" name.`);
  }
  if (typeof def.compatibility !== 'string' || !validRange(def.compatibility)) {
    say(`compatibility ${JSON.stringify(def.compatibility)} is not a semver range (e.g. "^1.0.0").`);
  } else if (!satisfies(version, def.compatibility)) {
    say(`requires framework ${def.compatibility}, but this is magento-async ${version}.`);
  }
  const handlers = (def.handlers ?? {}) as Record<string, Handler | undefined>;
  for (const [operationId, handler] of Object.entries(handlers)) {
    if (!operations.has(operationId) && !isServiceTarget(operationId))
      say(`handler "${operationId}" names no operation of the route table (run codegen, or check the spelling).`);
    else if (handler !== undefined && typeof handler !== 'function') say(`handler "${operationId}" is not a function.`);
  }
  const batchHandlers = (def.batchHandlers ?? {}) as Record<string, BatchHandler | undefined>;
  for (const [operationId, batch] of Object.entries(batchHandlers)) {
    if (batch === undefined) continue;
    if (typeof batch !== 'function') say(`batch handler "${operationId}" is not a function.`);
    // The single handler is what runs under an `around` interceptor and when a batch throws.
    else if (typeof handlers[operationId] !== 'function')
      say(`batch handler "${operationId}" has no handler of the same plugin beside it; add handlers.${operationId}.`);
  }
  const interceptors = def.interceptors ?? [];
  if (!Array.isArray(interceptors)) say('interceptors must be an array.');
  else checkInterceptors(interceptors, operations, say);
  const replaces = def.replaces ?? [];
  if (!Array.isArray(replaces) || replaces.some((r) => typeof r !== 'string'))
    say('replaces must be an array of plugin names.');
  const migrations = c.module.migrations ?? [];
  if (!Array.isArray(migrations) || migrations.some((m) => typeof m !== 'string'))
    say('export "migrations" must be an array of SQL strings.');
  const fallback = c.module.fallback;
  if (fallback !== undefined && typeof fallback !== 'function') say('export "fallback" must be a function.');
  const orderKeys = def.orderKeys ?? {};
  for (const [operationId, paths] of Object.entries(orderKeys)) {
    if (!operations.has(operationId)) say(`orderKeys "${operationId}" names no operation of the route table.`);
    else if (
      paths !== null &&
      (!Array.isArray(paths) || !paths.length || paths.some((x) => typeof x !== 'string' || !x))
    )
      say(`orderKeys "${operationId}" must be a non-empty array of argument paths, or null.`);
  }
  if (problems.length > before) return null;
  return {
    name: def.name,
    source: c.source,
    definition: def,
    handlers,
    batchHandlers,
    interceptors,
    replaces,
    migrations: migrations as string[],
    orderKeys,
    fallback: fallback as FallbackFactory | undefined,
  };
}

function checkInterceptors(list: Interceptor[], operations: Set<string>, say: (why: string) => void): void {
  const seen = new Set<string>();
  for (const [index, i] of list.entries()) {
    const what = `interceptor ${typeof i?.name === 'string' && i.name ? `"${i.name}"` : `#${index}`}`;
    if (!i || typeof i.name !== 'string' || !i.name) {
      say(`${what} has no name.`);
      continue;
    }
    if (seen.has(i.name)) say(`${what} is declared twice.`);
    seen.add(i.name);
    if (typeof i.target !== 'string' || (i.target !== '*' && !operations.has(i.target) && !isServiceTarget(i.target))) {
      say(
        `${what} targets ${JSON.stringify(i.target)}, which is neither "*", an operation of the route table nor a service method (Class::method).`,
      );
    }
    if (i.sortOrder !== undefined && !Number.isInteger(i.sortOrder))
      say(`${what} has a sortOrder that is not an integer.`);
    for (const hook of ['before', 'around', 'after'] as const) {
      if (i[hook] !== undefined && typeof i[hook] !== 'function') say(`${what}: ${hook} is not a function.`);
    }
    if (parseReference(i.name)) {
      if (!i.disabled) say(`${what} names another plugin's interceptor; that is only allowed with disabled: true.`);
    } else if (!i.disabled && !i.before && !i.around && !i.after) {
      say(`${what} has none of before, around, after.`);
    }
  }
}

/** A `disabled` reference to an interceptor its (loaded) plugin does not have is a typo worth stopping for. */
function checkReferences(plugins: readonly Checked[], problems: string[]): void {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  for (const p of plugins) {
    for (const i of p.interceptors) {
      const ref = parseReference(i.name);
      const target = ref && byName.get(ref.plugin);
      if (ref && target && !target.interceptors.some((t) => t.name === ref.name)) {
        problems.push(
          `${p.name} (${p.source}): disables "${i.name}", but ${ref.plugin} has no interceptor "${ref.name}".`,
        );
      }
    }
  }
}

export async function loadPlugins(options: LoadOptions): Promise<PluginRegistry> {
  const problems: string[] = [];
  const version = options.frameworkVersion ?? packageVersion();
  const operations = new Set(options.routes.map((r) => r.operationId));
  const plugins: Checked[] = [];
  const sources = new Map<string, string>();
  for (const candidate of await importCandidates(options, problems)) {
    const checked = checkPlugin(candidate, operations, version, problems);
    if (!checked) continue;
    const other = sources.get(checked.name);
    if (other) {
      problems.push(`${checked.name} (${checked.source}): a plugin with this name is already loaded from ${other}.`);
      continue;
    }
    sources.set(checked.name, checked.source);
    plugins.push(checked);
  }
  checkReferences(plugins, problems);
  const claims = resolveClaims(
    plugins.map((p) => ({ ...p, handlers: expandServiceHandlers(p.handlers, options.routes) })),
  );
  problems.push(...claims.problems);

  let fallback: { plugin: string; resolve: Fallback } | undefined;
  for (const p of plugins) {
    const resolveFallback = p.fallback?.({ routes: options.routes, upstream: options.upstream });
    if (resolveFallback && !fallback) fallback = { plugin: p.name, resolve: resolveFallback };
  }
  if (options.upstream?.baseUrl && !fallback) {
    problems.push(
      `an upstream (${options.upstream.baseUrl}) is configured, but no loaded plugin forwards to it (is plugins/http-forward present?).`,
    );
  }
  if (problems.length) throw new PluginLoadError(problems);

  const installs: Install[] = plugins.flatMap((p) => p.migrations.map((sql) => ({ plugin: p.name, sql })));
  const orderKeys = new Map<string, string[] | null>();
  for (const p of plugins) {
    for (const [operationId, paths] of Object.entries(p.orderKeys))
      if (!orderKeys.has(operationId)) orderKeys.set(operationId, paths);
  }
  // Only the winning handler's plugin may batch its operation.
  const batchHandlers = new Map<string, { plugin: string; handler: BatchHandler }>();
  for (const [operationId, winner] of claims.handlers) {
    const handler = plugins.find((p) => p.name === winner.plugin)?.batchHandlers[operationId];
    if (handler) batchHandlers.set(operationId, { plugin: winner.plugin, handler });
  }
  return new PluginRegistry({
    orderKeys,
    batchHandlers,
    routes: options.routes,
    handlers: claims.handlers,
    stubs: claims.stubs,
    interceptors: activeInterceptors(plugins),
    fallback,
    installs,
  });
}

/**
 * Applies plugin migrations in one transaction under a per-schema advisory lock (servers and
 * consumers start together). The SQL must be idempotent: it runs at every start.
 */
export async function runInstalls(pool: Pool, schema: string, installs: readonly Install[]): Promise<void> {
  if (!installs.length) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`magento-async:plugins:${schema}`]);
    await client.query(`SET LOCAL search_path TO ${ident(schema)}`);
    for (const install of installs) {
      try {
        await client.query(install.sql);
      } catch (error) {
        throw new Error(`Migration of plugin ${install.plugin} failed: ${(error as Error).message}`, { cause: error });
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
