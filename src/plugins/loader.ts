/**
 * Finds, imports and validates plugins at start, then builds the registry. Everything wrong with
 * every plugin is collected into one PluginLoadError, so an operator fixes all problems in one pass
 * instead of restarting once per mistake.
 *
 * Sources, in load order: the examples the project enabled (`plugins.examples`), the plugins
 * folder (`plugins/<dir>/index.ts`), npm packages, modules already in memory, and last the built-in
 * http-forward fallback (which a project's own plugin of the same name replaces). A plugin module's
 * default export is a PluginDefinition; two optional named exports extend it:
 * - `migrations: string[]`: SQL for the plugin's own tables, with unqualified names; the N-th
 *   string is version N, applied once in the plugin's own schema (src/plugins/migrations.ts).
 * - `fallback(options)`: returns a handler factory for operations nobody implements (http-forward).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isStub } from './stubs.ts';
import { PACKAGE_JSON, packageModule } from '../kernel/package.ts';
import type { BatchHandler, Handler, Validator } from '../kernel/handler.ts';
import type { Requires } from '../kernel/requirement.ts';
import type { Interceptor, PluginDefinition } from './define.ts';
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
import { compatibilityError } from './compatibility.ts';
import { examplePath, EXAMPLE_NAMES, isExampleName } from './examples.ts';
import { E, renderTemplate } from '../errors/catalogue.ts';
import { runPluginMigrations, type AppliedMigration } from './migrations.ts';
import type { Pool } from '../db/pool.ts';
import type { Config } from '../config.ts';
import type { Route } from '../routes/types.ts';

export interface UpstreamConfig {
  /** REST root of the synchronous store, e.g. `https://shop.example.com/rest`. */
  baseUrl: string;
  /** Integration or admin token sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Per-request timeout; a timeout is retriable. Default: `upstream.timeoutMs`'s. */
  timeoutMs?: number;
  /** Calls in flight at once to this upstream, per consumer process. Default: `upstream.maxInFlight`'s. */
  maxInFlight?: number;
  /** Calls started per second to this upstream, per consumer process. Default: `upstream.maxPerSecond`'s. */
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
  /** Shipped examples to load (`plugins.examples`: catalog, customer, cms). Default none. */
  examples?: readonly string[];
  /** Load the built-in http-forward plugin. Default true. */
  builtins?: boolean;
  /** Deadline of one operation's checks (`validate`) before its handler, ms (`validateTimeoutMs`). Default 10000. */
  checkTimeoutMs?: number;
}

/** The built-in fallback plugin, loaded whatever `pluginsDir` is, so a fresh project can forward. */
export const HTTP_FORWARD_PATH = packageModule('plugins/http-forward/index.ts');

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
  return PACKAGE_JSON.version;
}

interface Candidate {
  /** Where the plugin came from, as error messages name it. */
  source: string;
  module: Record<string, unknown>;
  /**
   * Shipped with the framework: an example or the built-in fallback. Its handlers apply to the
   * operations the spec has and are skipped for the others, so any spec can run beside it.
   */
  shipped?: 'example' | 'builtin';
  /** The example's name, for messages that say how to turn it off. */
  example?: string;
}

/** One module to import. */
interface PluginSource {
  source: string;
  specifier: string;
  shipped?: Candidate['shipped'];
  example?: string;
}

const NAME = /^[A-Z][A-Za-z0-9]*_[A-Z][A-Za-z0-9]*$/;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling link
  }
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function exampleSources(options: LoadOptions, problems: string[]): PluginSource[] {
  const sources: PluginSource[] = [];
  for (const name of new Set(options.examples ?? [])) {
    if (!isExampleName(name)) {
      problems.push(`plugins.examples: "${name}" is not a shipped example (there are: ${EXAMPLE_NAMES.join(', ')}).`);
      continue;
    }
    sources.push({
      source: `examples/${name}/index.ts`,
      specifier: pathToFileURL(examplePath(name)).href,
      shipped: 'example',
      example: name,
    });
  }
  return sources;
}

function folderSources(options: LoadOptions, skip: ReadonlySet<string>): PluginSource[] {
  // `pluginsDir: null` loads no directory (only packages and modules).
  const dir = options.pluginsDir === null ? null : resolve(options.pluginsDir ?? 'plugins');
  if (!dir || !existsSync(dir)) return [];
  const sources: PluginSource[] = [];
  const entries = readdirSync(dir, { withFileTypes: true })
    // A linked folder (npm/pnpm workspaces, `ln -s`) is a plugin folder like any other.
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDirectory(join(dir, e.name))))
    .map((e) => e.name)
    .sort();
  for (const name of entries) {
    const file = join(dir, name, 'index.ts');
    // This checkout's own plugins/ holds the built-in http-forward: loaded once, as the built-in.
    if (!existsSync(file) || skip.has(realpath(file))) continue;
    sources.push({
      source: join(options.pluginsDir ?? 'plugins', name, 'index.ts'),
      specifier: pathToFileURL(file).href,
    });
  }
  return sources;
}

async function importSource(t: PluginSource, problems: string[]): Promise<Candidate | null> {
  try {
    const module = (await import(t.specifier)) as Record<string, unknown>;
    return {
      source: t.source,
      module,
      ...(t.shipped && { shipped: t.shipped }),
      ...(t.example && { example: t.example }),
    };
  } catch (error) {
    problems.push(`${t.source}: cannot be imported: ${(error as Error).message}`);
    return null;
  }
}

function pluginNameOf(c: Candidate): unknown {
  return (c.module.default as { name?: unknown } | undefined)?.name;
}

/**
 * `fresh`: import file modules anew when they changed (a query string of their bytes' digest makes
 * a new module instance), for codegen, which reads plugins that it or the author may have changed
 * since this process first imported them. Of the bytes, not of the time: the same file is the same
 * URL from one process to the next, so Node's compile cache holds its stripped and compiled code
 * (codegen in a store project imports a stub per entity: 46 of them for Magento's admin spec).
 */
function freshSpecifier(url: string): string {
  try {
    return `${url}?fresh=${createHash('sha256')
      .update(readFileSync(new URL(url)))
      .digest('hex')
      .slice(0, 16)}`;
  } catch {
    return url; // unreadable: its import says why
  }
}

async function importCandidates(options: LoadOptions, problems: string[], fresh = false): Promise<Candidate[]> {
  const builtins = options.builtins === false ? [] : [HTTP_FORWARD_PATH];
  const targets = [...exampleSources(options, problems), ...folderSources(options, new Set(builtins.map(realpath)))];
  const candidates: Candidate[] = [];
  for (const t of targets) {
    const specifier = fresh && t.specifier.startsWith('file:') ? freshSpecifier(t.specifier) : t.specifier;
    const c = await importSource({ ...t, specifier }, problems);
    if (c) candidates.push(c);
  }
  candidates.push(
    ...(await importPackages(
      options.packages ?? [],
      { projectDir: options.projectDir, frameworkVersion: options.frameworkVersion ?? packageVersion() },
      problems,
    )),
  );
  candidates.push(...(options.modules ?? []));
  for (const file of builtins) {
    const c = await importSource(
      { source: 'plugins/http-forward/index.ts (built in)', specifier: pathToFileURL(file).href, shipped: 'builtin' },
      problems,
    );
    // A project's own plugin of the same name (a patched copy) takes the built-in's place.
    if (c && !candidates.some((other) => pluginNameOf(other) === pluginNameOf(c))) candidates.push(c);
  }
  return candidates;
}

interface Checked {
  name: string;
  source: string;
  definition: PluginDefinition;
  handlers: Record<string, Handler | undefined>;
  batchHandlers: Record<string, BatchHandler | undefined>;
  validate: Record<string, Validator | undefined>;
  interceptors: Interceptor[];
  replaces: string[];
  migrations: string[];
  orderKeys: Record<string, string[] | null>;
  requires: Record<string, Requires | undefined>;
  fallback?: FallbackFactory | undefined;
  example?: string | undefined;
}

/**
 * A shipped plugin keeps only the entries for operations this route table has (service targets
 * stay: they already apply to whatever routes have the method, possibly none).
 */
function forOperations<T>(entries: Record<string, T>, operations: Set<string>): Record<string, T> {
  return Object.fromEntries(Object.entries(entries).filter(([id]) => operations.has(id) || isServiceTarget(id)));
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
  const incompatible = compatibilityError(def.compatibility, version);
  if (incompatible) say(incompatible);
  let handlers = (def.handlers ?? {}) as Record<string, Handler | undefined>;
  if (c.shipped) handlers = forOperations(handlers, operations);
  for (const [operationId, handler] of Object.entries(handlers)) {
    if (!operations.has(operationId) && !isServiceTarget(operationId))
      say(`handler "${operationId}" names no operation of the route table (run codegen, or check the spelling).`);
    else if (handler !== undefined && typeof handler !== 'function') say(`handler "${operationId}" is not a function.`);
  }
  let batchHandlers = (def.batchHandlers ?? {}) as Record<string, BatchHandler | undefined>;
  if (c.shipped) batchHandlers = forOperations(batchHandlers, operations);
  for (const [operationId, batch] of Object.entries(batchHandlers)) {
    if (batch === undefined) continue;
    if (typeof batch !== 'function') say(`batch handler "${operationId}" is not a function.`);
    // The single handler is what runs under an `around` interceptor and when a batch throws.
    else if (typeof handlers[operationId] !== 'function')
      say(`batch handler "${operationId}" has no handler of the same plugin beside it; add handlers.${operationId}.`);
  }
  let validate = (def.validate ?? {}) as Record<string, Validator | undefined>;
  if (typeof validate !== 'object' || validate === null || Array.isArray(validate)) {
    say('validate must be an object of checks keyed by operationId.');
    validate = {};
  }
  if (c.shipped) validate = forOperations(validate, operations);
  for (const [operationId, check] of Object.entries(validate)) {
    if (!operations.has(operationId) && !isServiceTarget(operationId))
      say(`validate "${operationId}" names no operation of the route table (run codegen, or check the spelling).`);
    else if (check !== undefined && typeof check !== 'function') say(`validate "${operationId}" is not a function.`);
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
  const orderKeys = c.shipped ? forOperations(def.orderKeys ?? {}, operations) : (def.orderKeys ?? {});
  for (const [operationId, paths] of Object.entries(orderKeys)) {
    if (!operations.has(operationId)) say(`orderKeys "${operationId}" names no operation of the route table.`);
    else if (
      paths !== null &&
      (!Array.isArray(paths) || !paths.length || paths.some((x) => typeof x !== 'string' || !x))
    )
      say(`orderKeys "${operationId}" must be a non-empty array of argument paths, or null.`);
  }
  let requires = (def.requires ?? {}) as Record<string, Requires | undefined>;
  if (typeof requires !== 'object' || requires === null || Array.isArray(requires)) {
    say('requires must be an object of functions keyed by operationId.');
    requires = {};
  }
  // A shipped example declares the dependencies of whole Magento modules, whatever spec a store
  // generated: its entries for operations the route table lacks are left out. A project's own
  // plugin is refused for one, as for a handler: a misspelt key would otherwise never wait.
  if (c.shipped) requires = forOperations(requires, operations);
  for (const [operationId, fn] of Object.entries(requires)) {
    if (!operations.has(operationId) && !isServiceTarget(operationId))
      say(renderTemplate(E.PLUGIN_REQUIRES_UNKNOWN.template, [E.PLUGIN_REQUIRES_UNKNOWN.code, operationId]));
    else if (fn !== undefined && typeof fn !== 'function') say(`requires "${operationId}" is not a function.`);
  }
  if (problems.length > before) return null;
  return {
    name: def.name,
    source: c.source,
    definition: def,
    handlers,
    batchHandlers,
    validate,
    interceptors,
    replaces,
    migrations: migrations as string[],
    orderKeys,
    requires,
    fallback: fallback as FallbackFactory | undefined,
    example: c.example,
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

/**
 * Operations some plugin really implements (not a generated stub), with the file that does: what
 * codegen needs to write stubs only for the rest. Nothing is validated here (that is loadPlugins'
 * job at start); a plugin that cannot be imported is reported in `problems` and counts for nothing.
 */
export async function implementedOperations(
  options: Pick<LoadOptions, 'routes' | 'pluginsDir' | 'packages' | 'examples'>,
): Promise<{ implemented: Map<string, string>; problems: string[] }> {
  const problems: string[] = [];
  const implemented = new Map<string, string>();
  for (const c of await importCandidates({ ...options, builtins: false }, problems, true)) {
    const handlers = (c.module.default as PluginDefinition | undefined)?.handlers ?? {};
    // A service-method key implements every route of that method.
    const byOperation = expandServiceHandlers(handlers as Record<string, Handler | undefined>, options.routes);
    for (const [operationId, handler] of Object.entries(byOperation)) {
      if (typeof handler === 'function' && !isStub(handler) && !implemented.has(operationId))
        implemented.set(operationId, c.source);
    }
  }
  return { implemented, problems };
}

/** Enabled on purpose, an example still keeps its operations from the store: say so at start. */
function exampleNotes(plugins: readonly Checked[], upstream: UpstreamConfig | undefined): string[] {
  if (!upstream?.baseUrl) return [];
  return plugins
    .filter((p) => p.example && Object.keys(p.handlers).length)
    .map(
      (p) =>
        `example "${p.example}" (${p.name}) runs ${Object.keys(p.handlers).join(', ')} on local tables although an upstream (${upstream.baseUrl}) is configured; take it out of plugins.examples to send them to the store.`,
    );
}

/** Plugin schemas are named from the lower-cased plugin name: two names may not differ only in case. */
function checkSchemaNames(plugins: readonly Checked[], problems: string[]): void {
  const seen = new Map<string, Checked>();
  for (const p of plugins) {
    if (!p.migrations.length) continue;
    const other = seen.get(p.name.toLowerCase());
    if (other)
      problems.push(
        `${p.name} (${p.source}) and ${other.name} (${other.source}): names that differ only in case would share one schema for their tables; rename one.`,
      );
    else seen.set(p.name.toLowerCase(), p);
  }
}

/**
 * The plugins a deployment's configuration names: what a consumer loads to run operations and
 * `serve` loads to run their checks in validate-only requests.
 */
export function configuredPlugins(
  config: Pick<Config, 'pluginsDir' | 'pluginPackages' | 'plugins' | 'upstream' | 'validateTimeoutMs'>,
  routes: readonly Route[],
  extra: Pick<LoadOptions, 'modules' | 'projectDir'> = {},
): LoadOptions {
  const { upstream } = config;
  return {
    routes,
    pluginsDir: config.pluginsDir,
    packages: config.pluginPackages,
    examples: config.plugins.examples ?? [],
    ...extra,
    upstream: upstream.baseUrl
      ? {
          baseUrl: upstream.baseUrl,
          token: upstream.token ?? undefined,
          timeoutMs: upstream.timeoutMs,
          maxInFlight: upstream.maxInFlight,
          maxPerSecond: upstream.maxPerSecond,
        }
      : undefined,
    checkTimeoutMs: config.validateTimeoutMs,
  };
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
  checkSchemaNames(plugins, problems);
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
      `an upstream (${options.upstream.baseUrl}) is configured, but no loaded plugin forwards to it (the built-in http-forward is switched off).`,
    );
  }
  if (problems.length) throw new PluginLoadError(problems);

  const installs: Install[] = plugins.flatMap((p) => p.migrations.map((sql) => ({ plugin: p.name, sql })));
  const orderKeys = new Map<string, string[] | null>();
  for (const p of plugins) {
    for (const [operationId, paths] of Object.entries(p.orderKeys))
      if (!orderKeys.has(operationId)) orderKeys.set(operationId, paths);
  }
  // Every plugin's requirements of an operation, in load order.
  const requires = new Map<string, Requires[]>();
  const requiredBy = new Map<string, string[]>();
  for (const p of plugins) {
    for (const [operationId, fn] of Object.entries(expandServiceHandlers(p.requires, options.routes))) {
      if (typeof fn !== 'function') continue;
      requires.set(operationId, [...(requires.get(operationId) ?? []), fn]);
      requiredBy.set(operationId, [...(requiredBy.get(operationId) ?? []), p.name]);
    }
  }
  // Only the winning handler's plugin may batch its operation.
  const batchHandlers = new Map<string, { plugin: string; handler: BatchHandler }>();
  for (const [operationId, winner] of claims.handlers) {
    const handler = plugins.find((p) => p.name === winner.plugin)?.batchHandlers[operationId];
    if (handler) batchHandlers.set(operationId, { plugin: winner.plugin, handler });
  }
  // Every plugin's check of an operation, in load order (a service key: each route of its method).
  const checks = new Map<string, { plugin: string; validate: Validator }[]>();
  for (const p of plugins) {
    for (const [operationId, validate] of Object.entries(expandServiceHandlers(p.validate, options.routes))) {
      if (typeof validate !== 'function') continue;
      checks.set(operationId, [...(checks.get(operationId) ?? []), { plugin: p.name, validate }]);
    }
  }
  return new PluginRegistry({
    orderKeys,
    requires,
    requiredBy,
    batchHandlers,
    checks,
    checkTimeoutMs: options.checkTimeoutMs,
    routes: options.routes,
    handlers: claims.handlers,
    stubs: claims.stubs,
    interceptors: activeInterceptors(plugins),
    fallback,
    installs,
    notes: [...claims.notes, ...exampleNotes(plugins, options.upstream)],
  });
}

/**
 * Applies the plugins' pending migrations, each in its plugin's own schema with a version table
 * (src/plugins/migrations.ts); a re-run applies nothing.
 */
export async function runInstalls(
  pool: Pool,
  schema: string,
  installs: readonly Install[],
): Promise<AppliedMigration[]> {
  return runPluginMigrations(pool, schema, installs);
}
