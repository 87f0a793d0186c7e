/**
 * The one configuration object of the whole application. Every component reads its settings from
 * the `Config` that `loadConfig` returns; nothing else reads `process.env` or a config file. What
 * the settings are (types, bounds, defaults, environment variables, descriptions) is
 * src/config/schema.ts, and only there.
 *
 * Sources, lowest to highest precedence:
 *   1. the schema's defaults;
 *   2. a JSON config file: `MAGENTO_ASYNC_CONFIG`, else `magento-async.config.json` in the working
 *      directory when it exists (a missing default file is fine, a missing named file is an error);
 *   3. environment variables, for the keys that have one (deployment platforms set env, not files);
 *   4. `overrides`, which CLI flags such as `serve --port` pass in.
 *
 * Every value is checked against the schema, and an error names the key, where the value came
 * from, what the schema allows and what was given, so a typo in a config file fails at start
 * instead of silently using a default. Unknown keys are errors for the same reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { FORMATS } from './config/formats.ts';
// The schema's values and validator without TypeBox or ajv's compiler (cached in a checkout); its types.
import { ConfigSchema, configValidator } from './config/compiled.ts';
import type { SchemaNode, Settings } from './config/schema.ts';

export { LOG_LEVELS, MODES } from './config/compiled.ts';
export type { LogLevel, Mode, WebhooksConfig } from './config/schema.ts';

export type Config = Settings & {
  /** The config file that was read, or null when none was. Informational. */
  configFile: string | null;
};

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};
export type ConfigOverrides = DeepPartial<Settings>;

export interface LoadConfigOptions {
  /** Environment to read; pass `process.env` in the CLI, a literal object in tests. */
  env: Record<string, string | undefined>;
  /** Config file path; wins over `MAGENTO_ASYNC_CONFIG`. It must exist when given. */
  file?: string;
  /** Highest-precedence values (CLI flags). */
  overrides?: ConfigOverrides;
  /** Directory relative paths are resolved against. Default `process.cwd()`. */
  cwd?: string;
}

export const DEFAULT_CONFIG_FILE = 'magento-async.config.json';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Node = SchemaNode;
const ROOT = ConfigSchema as unknown as Node;

/** Whether a key of the schema is a group of keys (`consumer`, `upstream`, …) rather than a value. */
const isGroup = (node: Node | undefined): node is Node & { properties: Record<string, Node> } =>
  node?.type === 'object' && node.properties !== undefined;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own data property even for `__proto__`, so a config file cannot reach a prototype. */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The schema node of a value, without the `null` branch of a nullable one. */
function valueNode(node: Node): Node {
  const branches = node.anyOf?.filter((b) => b.type !== 'null');
  return branches?.length === 1 ? branches[0]! : node;
}

/**
 * Environment variables are strings, and so may numbers and booleans be in a file: `"8080"` is a
 * port, `"true"`/`"1"` and `"false"`/`"0"` are booleans. A list with an environment variable is
 * also accepted comma-separated.
 */
function coerce(node: Node | undefined, value: unknown): unknown {
  if (node === undefined || typeof value !== 'string') return value;
  const base = valueNode(node);
  const text = value.trim();
  if (base.type === 'integer' && /^-?\d+$/.test(text)) return Number(text);
  if (base.type === 'boolean') {
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
  }
  if (base.type === 'array' && node.env !== undefined) {
    return text
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  return value;
}

/** The merged settings being built, with where each value came from (for error messages). */
interface Layers {
  values: Record<string, unknown>;
  sources: Map<string, string>;
}

function setValue(into: Layers, path: readonly string[], value: unknown, source: string): void {
  let target = into.values;
  let node: Node | undefined = ROOT;
  for (const key of path.slice(0, -1)) {
    node = node?.properties?.[key];
    if (!Object.hasOwn(target, key)) put(target, key, {});
    const next = target[key];
    // A group given as a non-object stays as given, and validation reports it.
    if (!isPlainObject(next)) return;
    target = next;
  }
  const key = path.at(-1)!;
  put(target, key, coerce(node?.properties?.[key], value));
  into.sources.set(path.join('.'), source);
}

/**
 * Settings that no longer do anything: accepted and ignored, so files written for an earlier
 * version still load. `consumer.leaseSeconds`: a claim on an operation is its pg-boss job, handed
 * on by `consumer.heartbeatSeconds` and `consumer.expireInSeconds` (docs/operation-lifecycle.md).
 */
const RETIRED = new Set(['consumer.leaseSeconds']);

/** Lays an object of settings (a config file, overrides) over what is there, group by group. */
function layObject(into: Layers, raw: Record<string, unknown>, source: string, at: readonly string[] = []): void {
  const node = nodeAt(at);
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || RETIRED.has([...at, key].join('.'))) continue;
    const child = node?.properties?.[key];
    if (isGroup(child) && isPlainObject(value)) layObject(into, value, source, [...at, key]);
    else setValue(into, [...at, key], value, source);
  }
}

function layEnv(into: Layers, env: Record<string, string | undefined>, node: Node = ROOT, at: string[] = []): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (isGroup(child)) layEnv(into, env, child, [...at, key]);
    else if (child.env !== undefined && env[child.env] !== undefined && env[child.env] !== '') {
      setValue(into, [...at, key], env[child.env], `env ${child.env}`);
    }
  }
}

/** The schema's defaults, in a fresh object (no value shared between two loads). */
function defaultsOf(node: Node): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (isGroup(child)) out[key] = defaultsOf(child);
    else if (child.default !== undefined) out[key] = structuredClone(child.default);
  }
  return out;
}

/**
 * The schema's defaults, for modules that take a setting as an optional option (tests, embedding)
 * and must fall back to exactly what `loadConfig` would give. Production mode; `bossSchema` of the
 * default `schema`.
 */
export const configDefaults: Readonly<Settings> = deepFreeze(
  derive(defaultsOf(ROOT), new Map()),
) as unknown as Settings;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

/** Fills unset keys from the schema's defaults. */
function layDefaults(into: Layers, defaults: Record<string, unknown>, at: string[] = []): void {
  let target: unknown = into.values;
  for (const key of at) target = (target as Record<string, unknown>)[key];
  if (!isPlainObject(target)) return;
  for (const [key, value] of Object.entries(defaults)) {
    const path = [...at, key];
    if (!Object.hasOwn(target, key)) {
      put(target, key, value);
      into.sources.set(path.join('.'), 'the default');
    } else if (isPlainObject(value) && isGroup(nodeAt(path))) layDefaults(into, value, path);
  }
}

/** The schema node at a path of keys, if the schema has one there. */
function nodeAt(path: readonly string[]): Node | undefined {
  let node: Node | undefined = ROOT;
  for (const key of path) node = node?.properties?.[key];
  return node;
}

/** Defaults that follow other settings, which is why the schema cannot state them. */
function derive(values: Record<string, unknown>, sources: Map<string, string>): Record<string, unknown> {
  if (values.bossSchema === undefined) {
    values.bossSchema = `${String(values.schema)}_boss`;
    sources.set('bossSchema', 'the default "<schema>_boss"; set "bossSchema" or a shorter "schema"');
  }
  const dashboard = values.dashboard;
  if (isPlainObject(dashboard) && dashboard.enabled === undefined) {
    dashboard.enabled = values.mode === 'developer';
    sources.set('dashboard.enabled', 'the default of the mode');
  }
  return values;
}

/** How an error message says what a schema node allows. */
function describeAllowed(node: Node): string {
  if (node.expected !== undefined) return node.expected;
  if (node.anyOf) {
    const consts = node.anyOf.filter((b) => b.const !== undefined).map((b) => String(b.const));
    if (consts.length === node.anyOf.length) return `one of ${consts.join(', ')}`;
    const others = node.anyOf.filter((b) => b.type !== 'null').map(describeAllowed);
    return node.anyOf.some((b) => b.type === 'null') ? `${others.join(' or ')} or null` : others.join(' or ');
  }
  switch (node.type) {
    case 'integer':
      return `an integer from ${node.minimum} to ${node.maximum}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      if (node.format !== undefined) return FORMATS[node.format]!.expected;
      return node.minLength ? 'a non-empty string' : 'a string';
    case 'array':
      return node.items?.type === 'string' ? 'an array of non-empty strings' : 'an array';
    case 'object':
      return node.patternProperties ? 'an object of non-empty strings' : 'an object';
    default:
      return 'a valid value';
  }
}

function errorOf(error: ErrorObject, layers: Layers): ConfigError {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'additionalProperties') {
    const key = [...segments, (error.params as { additionalProperty: string }).additionalProperty].join('.');
    return new ConfigError(`Unknown configuration key "${key}" in ${layers.sources.get(key) ?? 'the configuration'}`);
  }
  // The setting is the deepest schema key on the path (an error inside a list names the list).
  let node = ROOT;
  let value: unknown = layers.values;
  const path: string[] = [];
  for (const segment of segments) {
    const child = node.properties?.[segment];
    if (!isGroup(node) || child === undefined) break;
    path.push(segment);
    node = child;
    value = (value as Record<string, unknown>)[segment];
  }
  const key = path.join('.');
  return new ConfigError(
    `Invalid configuration "${key}" (from ${layers.sources.get(key) ?? 'the configuration'}): expected ${describeAllowed(node)}, got ${JSON.stringify(value)}`,
  );
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`Config file ${path} must contain a JSON object`);
  // An editor's JSON Schema hint, not a setting.
  const { $schema: _hint, ...settings } = parsed;
  return settings;
}

/** Reads, merges and validates the configuration. Throws `ConfigError` naming the offending key. */
export function loadConfig(options: LoadConfigOptions): Config {
  const { env } = options;
  const cwd = options.cwd ?? process.cwd();

  let configFile: string | null = null;
  const named = options.file ?? (env.MAGENTO_ASYNC_CONFIG || undefined);
  if (named !== undefined) configFile = resolve(cwd, named);
  else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) configFile = resolve(cwd, DEFAULT_CONFIG_FILE);

  const layers: Layers = { values: {}, sources: new Map() };
  if (configFile !== null) layObject(layers, readConfigFile(configFile), `config file ${configFile}`);
  layEnv(layers, env);
  layObject(layers, (options.overrides ?? {}) as Record<string, unknown>, 'overrides');
  layDefaults(layers, defaultsOf(ROOT));
  derive(layers.values, layers.sources);

  const validate = configValidator();
  if (!validate(layers.values)) throw errorOf(validate.errors![0]!, layers);
  const settings = layers.values as unknown as Settings;
  if (settings.bossSchema === settings.schema) {
    throw new ConfigError(`Invalid configuration "bossSchema": must differ from "schema" (pg-boss owns its schema)`);
  }
  if (settings.upstream.baseUrl !== null) settings.upstream.baseUrl = settings.upstream.baseUrl.replace(/\/+$/, '');
  if (settings.plugins.examples !== null) settings.plugins.examples = [...new Set(settings.plugins.examples)];
  return { ...settings, configFile };
}
