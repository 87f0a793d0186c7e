/**
 * The one configuration object of the whole application. Every component reads its settings from
 * the `Config` that `loadConfig` returns; nothing else reads `process.env` or a config file.
 *
 * Sources, lowest to highest precedence:
 *   1. the defaults documented on each key below;
 *   2. a JSON config file: `MAGENTO_ASYNC_CONFIG`, else `magento-async.config.json` in the working
 *      directory when it exists (a missing default file is fine, a missing named file is an error);
 *   3. environment variables, for the keys that have one (deployment platforms set env, not files);
 *   4. `overrides`, which CLI flags such as `serve --port` pass in.
 *
 * Every value is checked for type and range, and an error names the key and where the value came
 * from, so a typo in a config file fails at start instead of silently using a default. Unknown keys
 * in the file are errors for the same reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXAMPLE_NAMES, isExampleName, type ExampleName } from './plugins/examples.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type Mode = 'production' | 'developer';

/** Upstream Magento (or any REST API) that the `http-forward` plugin replays operations against. */
export interface UpstreamConfig {
  /**
   * Base URL of the synchronous REST API, e.g. `https://shop.example.com/rest`. The operation's
   * store code and sync path are appended. `null` (default): no upstream, so an operation without
   * a handler fails with status 3 naming the missing handler.
   */
  baseUrl: string | null;
  /** Bearer token sent upstream (an integration token of the real store). Default `null`: none. */
  token: string | null;
  /**
   * Deadline of one upstream call in milliseconds, counted from when it is sent (also bounded by
   * `consumer.handlerTimeoutSeconds`); a timeout is a retriable failure. Default 30000.
   */
  timeoutMs: number;
  /**
   * Calls in flight at once to the upstream, per consumer process (all its batches share it), and
   * the size of its keep-alive connection pool. Default 16: a Magento store serves a few dozen
   * PHP-FPM workers at most, and calls beyond its pool only queue there.
   */
  maxInFlight: number;
  /** Calls started per second to the upstream, per consumer process. `null` (default): no cap. */
  maxPerSecond: number | null;
}

/** Bounds every database connection is opened with (pg connect timeout, PostgreSQL settings). */
export interface DatabaseConfig {
  /** Milliseconds to wait for a connection (a new one, or a free one of the pool). Default 10000. */
  connectTimeoutMs: number;
  /** PostgreSQL `statement_timeout` in milliseconds; 0 is none. Default 60000. */
  statementTimeoutMs: number;
  /** PostgreSQL `idle_in_transaction_session_timeout` in milliseconds; 0 is none. Default 120000. */
  idleInTransactionTimeoutMs: number;
}

/** Authentication settings (docs/authentication.md). */
export interface OAuthConfig {
  /**
   * Accept an integration's OAuth access token as a bearer token, as Magento's
   * `oauth/consumer/enable_integration_as_bearer`. `null` (default): on in developer mode, off in
   * production mode (Magento 2.4.4+ has it off).
   */
  integrationAsBearer: boolean | null;
  /** Accepted distance of `oauth_timestamp` from the server clock, either way, in seconds. Default 600. */
  timestampWindowSeconds: number;
  /** Lifetime of admin tokens in hours (`oauth/access_token_lifetime/admin`). Default 4. */
  adminTokenLifetimeHours: number;
  /** Failed admin token requests before the user name is locked (`oauth/authentication_lock/max_failures_count`). Default 6. */
  adminMaxFailures: number;
  /** Seconds a locked user name stays locked after its last failure (`oauth/authentication_lock/timeout`). Default 1800. */
  adminLockSeconds: number;
}

/** Worker settings for `queue:consumers:start` (pg-boss `work()` and queue policy options). */
export interface ConsumerConfig {
  /** Jobs fetched per poll (pg-boss `batchSize`); Magento's `--batch-size`. Default 100. */
  batchSize: number;
  /** Batches processed at once per worker process (pg-boss `localConcurrency`). Default 4. */
  concurrency: number;
  /**
   * Handlers of one batch running at once. Operations of one entity key never share a batch, so
   * they keep their order; handlers that use `ctx.tx` take the batch's transaction in turn (one
   * connection), the others (upstream calls) overlap. Default 32, measured with
   * bench/executor.bench.ts (a 20 ms I/O handler, one consumer, 4 batches of 100): 142 ops/s at 1,
   * 1,400–1,600 at 16, 1,900–2,300 at 32, 2,500 at 64; past 32 each doubling gains under 1.3× while
   * a stop waits for more handlers in hand, and calls to one upstream are capped by its own limit.
   */
  inFlight: number;
  /** Retries of a retriably failed operation (status 2) before it stays failed. Default 5. */
  retryLimit: number;
  /** Delay before the first retry, in seconds (pg-boss `retryDelay`). Default 2. */
  retryDelaySeconds: number;
  /** Double the delay on each retry, with jitter (pg-boss `retryBackoff`). Default true. */
  retryBackoff: boolean;
  /**
   * Seconds an operation may run before its job counts as lost and is picked up again (pg-boss
   * `expireInSeconds`): this is how a crashed worker's operations are never stranded. Default 60.
   */
  expireInSeconds: number;
  /**
   * pg-boss heartbeat interval in seconds (at least 10), or `null` for none. A worker that dies
   * stops its heartbeat, and its operations run again within about twice this interval instead of
   * waiting out `expireInSeconds`. Default 10.
   */
  heartbeatSeconds: number | null;
  /**
   * Longest one operation's handler may run, in seconds: it is then aborted (`ctx.signal`) and the
   * operation fails retriably. Also bounds a SIGTERM: the consumer exits within this plus about
   * 5 s. Default 30.
   */
  handlerTimeoutSeconds: number;
  /**
   * Seconds a worker's claim on an operation lasts unless extended (it is extended every quarter
   * of it while the batch runs): a worker that died has its operations run again after this.
   * Default 20.
   */
  leaseSeconds: number;
}

/** The bulk dashboard served by `serve`. */
export interface DashboardConfig {
  /**
   * Serve it. Env `MAGENTO_ASYNC_DASHBOARD`. Default: on in developer mode (`npm start`), off in
   * production unless set to true.
   */
  enabled: boolean;
  /** Where it is served. Default `/admin/bulks`. */
  path: string;
}

/** Prometheus metrics of `serve` (at `/metrics`) and of consumers (on their own port). */
export interface MetricsConfig {
  /** Serve `/metrics` on the HTTP server of `serve`. Default true. */
  enabled: boolean;
  /**
   * A bearer token `/metrics` requires (Prometheus `authorization` in its scrape config). `null`
   * (default): only clients connecting from a loopback address are answered, others get 403.
   */
  token: string | null;
  /**
   * Port of a consumer process's metrics server (`/metrics`), `0` for any free port (logged), or
   * `null` (default) for none: several consumers on one machine each need their own port.
   */
  consumerPort: number | null;
  /** Address the consumer's metrics server binds to. Default `127.0.0.1`. */
  consumerHost: string;
}

/** POSTs sent when a bulk is finished, to a URL given per request or per integration. */
export interface WebhooksConfig {
  /**
   * The HMAC-SHA256 key of the `X-Magento-Async-Signature` header. Env `MAGENTO_ASYNC_WEBHOOK_SECRET`.
   * `null` (default): webhooks are off, and a request asking for one gets 400.
   */
  secret: string | null;
  /**
   * Destinations allowed: origins (`https://hooks.example.com`, any path below) or host patterns
   * (`*.example.com`, any scheme and port). Default `[]`: none.
   */
  allow: string[];
  /**
   * Allow loopback, link-local and unspecified addresses (127.0.0.0/8, ::1, 169.254.0.0/16, 0.0.0.0)
   * as destinations, checked after DNS resolution. Default false: a name resolving there is refused.
   */
  allowLoopback: boolean;
  /** Webhook URL per integration (token name), for bulks accepted without `X-Callback-Url`. Default `{}`. */
  integrations: Record<string, string>;
  /** Delivery attempts before a webhook is given up. Default 8. */
  maxAttempts: number;
  /** Delay before the second attempt, doubled for each further one (at most 1 hour), ms. Default 5000. */
  retryBaseMs: number;
  /** Timeout of one delivery, ms. Default 10000. */
  timeoutMs: number;
  /** How often the sender looks for finished bulks and due retries, ms. Default 1000. */
  pollMs: number;
}

export interface Config {
  /**
   * PostgreSQL connection string. Env `DATABASE_URL`. Unset (default): the runtime's default
   * server (`postgres://postgres@127.0.0.1:5432/test` on development machines).
   */
  databaseUrl: string | undefined;
  /** HTTP port of `serve`. Env `PORT`. Default 8080. */
  port: number;
  /**
   * Magento's `crypt/key`, the key of `data_hash` (HMAC-SHA256), in Magento's format (2.4.7+:
   * `base64` + base64 of 32 bytes). Env `CRYPT_KEY`. Unset (default): read from the database, or
   * generated and stored there at first start so every server of a deployment agrees.
   */
  cryptKey: string | undefined;
  /** Database schema of our tables. Env `MAGENTO_ASYNC_SCHEMA`. Default `magento_async`. */
  schema: string;
  /** Database schema of pg-boss's tables. Default `<schema>_boss`. */
  bossSchema: string;
  /** Log level (pino). Env `LOG_LEVEL`. Default `info`. */
  logLevel: LogLevel;
  /**
   * `production` (default) or `developer`. Env `MAGENTO_ASYNC_MODE`. Developer mode adds `trace`
   * to error responses and detailed decoding errors, as Magento's developer mode does; never use
   * it where clients are untrusted.
   */
  mode: Mode;
  /** Most elements one bulk request may carry (Magento's input limit). Default 5000. */
  maxBulkItems: number;
  /** Largest accepted request body in bytes; larger ones get 413. Default 20 MiB (20971520). */
  maxBodyBytes: number;
  /** Deepest nesting of arrays/objects accepted in a request body. Default 64. */
  maxJsonDepth: number;
  /**
   * Accept the valid elements of a bulk and reject the invalid ones (202 with `errors: true`)
   * instead of failing the whole request with 400 as Magento does. Per request:
   * `?partialAccept=true`. Default false.
   */
  partialAccept: boolean;
  /**
   * Deadline of the plugins' checks (`validate`, docs/validate-only.md), in milliseconds: all the
   * checks of one `?validateOnly=true` request (items not judged by then are rejected saying so),
   * and one operation's checks before its handler in a consumer (then it fails retriably).
   * Default 10000.
   */
  validateTimeoutMs: number;
  /** How long an `Idempotency-Key` is remembered, in seconds. Default 86400 (24 h). */
  idempotencyTtlSeconds: number;
  /** How often each server deletes expired `Idempotency-Key` rows, in seconds. Default 600. */
  idempotencySweepSeconds: number;
  /**
   * Most async/bulk requests accepted at once (reading, decoding, committing); over it a request
   * is answered 503 with `Retry-After`. Default 256.
   */
  maxConcurrentAccepts: number;
  /**
   * Most request-body bytes all accepts in flight may hold together (the first 64 KiB of each body
   * are not counted); over it 503 with `Retry-After`. Bounds the server's memory: a bulk body is
   * decoded and validated in about 20 times its size, so the accept path's peak is about 20 × this.
   * Must be at least `maxBodyBytes` for the largest bodies to get through. Default 32 MiB (33554432).
   */
  maxAcceptBytesInFlight: number;
  /** `Retry-After` seconds of a 503 for work over those bounds. Default 1. */
  busyRetryAfterSeconds: number;
  /** Seconds a client has to send a whole request (headers and body); then 408. Default 60. */
  requestTimeoutSeconds: number;
  /** PostgreSQL connection bounds, on every pool. */
  database: DatabaseConfig;
  /**
   * Group commit: concurrent accepts share a transaction (one fsync for many requests). A request
   * arriving while `acceptTransactions` transactions are committing joins the next one; `false`
   * commits every request on its own. Default true.
   */
  groupCommit: boolean;
  /** Most accept transactions committing at once (group commit). Default 2. */
  acceptTransactions: number;
  /**
   * The spec `start`, `serve` and the consumers must run. Env `MAGENTO_ASYNC_SPEC`. Unset (default):
   * the one codegen recorded in `<generatedDir>/spec.json`. When set and different from it, they
   * refuse to start, naming both and the codegen command that fixes it.
   */
  spec: string | undefined;
  /** Where codegen writes its output. Default `src/generated`. */
  generatedDir: string;
  /** Folder of local plugins (`<pluginsDir>/<entity>/`). Default `plugins`. */
  pluginsDir: string;
  /** npm packages to load as plugins, in addition to `pluginsDir`. Default `[]`. */
  pluginPackages: string[];
  /** Which plugins load besides `pluginsDir` and `pluginPackages`. */
  plugins: PluginsConfig;
  /** Upstream for the `http-forward` plugin. */
  upstream: UpstreamConfig;
  /** Consumer (worker) settings. */
  consumer: ConsumerConfig;
  /** Authentication settings. */
  oauth: OAuthConfig;
  /** Largest `searchCriteria[pageSize]` of the bulk list API. Default 300. */
  statusPageSizeMax: number;
  /** The operator dashboard (docs/dashboard.md). */
  dashboard: DashboardConfig;
  /** Prometheus metrics (docs/metrics.md). */
  metrics: MetricsConfig;
  /** Completion webhooks (docs/webhooks.md). */
  webhooks: WebhooksConfig;
  /** The config file that was read, or null when none was. Informational. */
  configFile: string | null;
}

export interface PluginsConfig {
  /**
   * Shipped example plugins to run (`catalog`, `customer`, `cms`: local tables standing in for the
   * store). Env `MAGENTO_ASYNC_PLUGIN_EXAMPLES`, comma-separated. Default null: none, except that
   * `start` (the demo) runs all three when no upstream is configured.
   */
  examples: ExampleName[] | null;
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};
export type ConfigOverrides = DeepPartial<Omit<Config, 'configFile'>>;

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

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MODES: readonly Mode[] = ['production', 'developer'];
// Postgres identifiers are at most 63 bytes; `ident()` rejects anything else at query time, which
// would be far from the config that caused it.
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Where a raw value came from, for error messages. */
interface Raw {
  value: unknown;
  source: string;
}

type Checker = (key: string, raw: Raw) => unknown;

function fail(key: string, raw: Raw, expected: string): never {
  throw new ConfigError(
    `Invalid configuration "${key}" (from ${raw.source}): expected ${expected}, got ${JSON.stringify(raw.value)}`,
  );
}

function int(min: number, max: number): Checker {
  return (key, raw) => {
    let v = raw.value;
    if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) v = Number(v.trim());
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(key, raw, `an integer from ${min} to ${max}`);
    }
    return v;
  };
}

function nullableInt(min: number, max: number): Checker {
  const check = int(min, max);
  return (key, raw) => (raw.value === null ? null : check(key, raw));
}

const bool: Checker = (key, raw) => {
  const v = raw.value;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return fail(key, raw, 'true or false');
};

function str(options: { nullable?: boolean; pattern?: RegExp; patternText?: string } = {}): Checker {
  return (key, raw) => {
    const v = raw.value;
    if (v === null && options.nullable) return null;
    if (typeof v !== 'string' || v === '')
      fail(key, raw, options.nullable ? 'a non-empty string or null' : 'a non-empty string');
    if (options.pattern && !options.pattern.test(v))
      fail(key, raw, options.patternText ?? `a string matching ${options.pattern}`);
    return v;
  };
}

function oneOf<T extends string>(values: readonly T[]): Checker {
  return (key, raw) => {
    if (typeof raw.value !== 'string' || !values.includes(raw.value as T))
      fail(key, raw, `one of ${values.join(', ')}`);
    return raw.value;
  };
}

const stringList: Checker = (key, raw) => {
  const v = raw.value;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === ''))
    fail(key, raw, 'an array of non-empty strings');
  return [...v];
};

const url: Checker = (key, raw) => {
  const v = raw.value;
  if (v === null) return null;
  if (typeof v !== 'string') return fail(key, raw, 'an http(s) URL or null');
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(key, raw, 'an http(s) URL or null');
  } catch {
    fail(key, raw, 'an http(s) URL or null');
  }
  return v.replace(/\/+$/, '');
};

interface KeySpec {
  check: Checker;
  default: unknown;
  env?: string;
}

const MIB = 1024 * 1024;

// The table the validation walks; defaults here must match the JSDoc on `Config` above.
const TOP: Record<string, KeySpec> = {
  databaseUrl: { check: str(), default: undefined, env: 'DATABASE_URL' },
  port: { check: int(0, 65535), default: 8080, env: 'PORT' },
  cryptKey: { check: str(), default: undefined, env: 'CRYPT_KEY' },
  schema: {
    check: str({
      pattern: SCHEMA_NAME,
      patternText: 'a database identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)',
    }),
    default: 'magento_async',
    env: 'MAGENTO_ASYNC_SCHEMA',
  },
  bossSchema: {
    check: str({
      pattern: SCHEMA_NAME,
      patternText: 'a database identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)',
    }),
    default: undefined, // derived from `schema` below
  },
  logLevel: { check: oneOf(LOG_LEVELS), default: 'info', env: 'LOG_LEVEL' },
  mode: { check: oneOf(MODES), default: 'production', env: 'MAGENTO_ASYNC_MODE' },
  maxBulkItems: { check: int(1, 1_000_000), default: 5000 },
  maxBodyBytes: { check: int(1024, 1024 * MIB), default: 20 * MIB },
  maxJsonDepth: { check: int(2, 10_000), default: 64 },
  partialAccept: { check: bool, default: false },
  validateTimeoutMs: { check: int(1, 3_600_000), default: 10_000 },
  idempotencyTtlSeconds: { check: int(1, 365 * 86400), default: 86400 },
  idempotencySweepSeconds: { check: int(1, 86400), default: 600 },
  maxConcurrentAccepts: { check: int(1, 100_000), default: 256 },
  maxAcceptBytesInFlight: { check: int(1024, 64 * 1024 * MIB), default: 32 * MIB },
  busyRetryAfterSeconds: { check: int(1, 3600), default: 1 },
  requestTimeoutSeconds: { check: int(1, 3600), default: 60 },
  groupCommit: { check: bool, default: true },
  acceptTransactions: { check: int(1, 64), default: 2 },
  spec: { check: str(), default: undefined, env: 'MAGENTO_ASYNC_SPEC' },
  generatedDir: { check: str(), default: 'src/generated' },
  pluginsDir: { check: str(), default: 'plugins' },
  pluginPackages: { check: stringList, default: [] },
  statusPageSizeMax: { check: int(1, 100_000), default: 300 },
};

const UPSTREAM: Record<string, KeySpec> = {
  baseUrl: { check: url, default: null },
  token: { check: str({ nullable: true }), default: null },
  timeoutMs: { check: int(1, 3_600_000), default: 30_000 },
  maxInFlight: { check: int(1, 10_000), default: 16 },
  maxPerSecond: { check: nullableInt(1, 1_000_000), default: null },
};

const CONSUMER: Record<string, KeySpec> = {
  batchSize: { check: int(1, 10_000), default: 100 },
  concurrency: { check: int(1, 1000), default: 4 },
  inFlight: { check: int(1, 10_000), default: 32 },
  retryLimit: { check: int(0, 1000), default: 5 },
  retryDelaySeconds: { check: int(0, 86400), default: 2 },
  retryBackoff: { check: bool, default: true },
  expireInSeconds: { check: int(1, 86400), default: 60 },
  // pg-boss's own minimum.
  heartbeatSeconds: { check: nullableInt(10, 86400), default: 10 },
  handlerTimeoutSeconds: { check: int(1, 86400), default: 30 },
  leaseSeconds: { check: int(5, 3600), default: 20 },
};

const exampleList: Checker = (key, raw) => {
  const v =
    typeof raw.value === 'string'
      ? raw.value
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : raw.value;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !isExampleName(x)))
    fail(key, raw, `a list of shipped examples (${EXAMPLE_NAMES.join(', ')})`);
  return [...new Set(v as string[])];
};

const PLUGINS: Record<string, KeySpec> = {
  examples: { check: exampleList, default: null, env: 'MAGENTO_ASYNC_PLUGIN_EXAMPLES' },
};

const DATABASE: Record<string, KeySpec> = {
  connectTimeoutMs: { check: int(1, 600_000), default: 10_000 },
  statementTimeoutMs: { check: int(0, 86_400_000), default: 60_000 },
  idleInTransactionTimeoutMs: { check: int(0, 86_400_000), default: 120_000 },
};

const nullableBool: Checker = (key, raw) => (raw.value === null ? null : bool(key, raw));

const OAUTH: Record<string, KeySpec> = {
  integrationAsBearer: { check: nullableBool, default: null },
  timestampWindowSeconds: { check: int(1, 86400), default: 600 },
  adminTokenLifetimeHours: { check: int(1, 8760), default: 4 },
  adminMaxFailures: { check: int(1, 1000), default: 6 },
  adminLockSeconds: { check: int(0, 30 * 86400), default: 1800 },
};

const stringMap: Checker = (key, raw) => {
  const v = raw.value;
  if (!isPlainObject(v) || Object.values(v).some((x) => typeof x !== 'string' || x === ''))
    fail(key, raw, 'an object of non-empty strings');
  return { ...v };
};

const urlPath: Checker = (key, raw) => {
  const v = raw.value;
  if (typeof v !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(v) || v.startsWith('/rest/') || v === '/metrics')
    fail(key, raw, 'a path like /admin/bulks (not under /rest, not /metrics)');
  return v;
};

const DASHBOARD: Record<string, KeySpec> = {
  enabled: { check: bool, default: undefined, env: 'MAGENTO_ASYNC_DASHBOARD' }, // by mode, below
  path: { check: urlPath, default: '/admin/bulks' },
};

const METRICS: Record<string, KeySpec> = {
  enabled: { check: bool, default: true },
  token: { check: str({ nullable: true }), default: null },
  consumerPort: { check: nullableInt(0, 65535), default: null },
  consumerHost: { check: str(), default: '127.0.0.1' },
};

const WEBHOOKS: Record<string, KeySpec> = {
  secret: { check: str({ nullable: true }), default: null, env: 'MAGENTO_ASYNC_WEBHOOK_SECRET' },
  allow: { check: stringList, default: [] },
  allowLoopback: { check: bool, default: false },
  integrations: { check: stringMap, default: {} },
  maxAttempts: { check: int(1, 100), default: 8 },
  retryBaseMs: { check: int(1, 3_600_000), default: 5000 },
  timeoutMs: { check: int(1, 600_000), default: 10_000 },
  pollMs: { check: int(10, 600_000), default: 1000 },
};

const NESTED: Record<string, Record<string, KeySpec>> = {
  upstream: UPSTREAM,
  plugins: PLUGINS,
  consumer: CONSUMER,
  oauth: OAUTH,
  database: DATABASE,
  dashboard: DASHBOARD,
  metrics: METRICS,
  webhooks: WEBHOOKS,
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
  return parsed;
}

function rejectUnknownKeys(obj: Record<string, unknown>, where: string): void {
  for (const key of Object.keys(obj)) {
    if (key === '$schema') continue; // editors' JSON-schema hint in a config file
    if (Object.hasOwn(NESTED, key)) {
      const nested = obj[key];
      if (nested === undefined) continue;
      if (!isPlainObject(nested))
        throw new ConfigError(`Invalid configuration "${key}" (from ${where}): expected an object`);
      for (const k of Object.keys(nested)) {
        if (!Object.hasOwn(NESTED[key]!, k))
          throw new ConfigError(`Unknown configuration key "${key}.${k}" in ${where}`);
      }
    } else if (!Object.hasOwn(TOP, key)) {
      throw new ConfigError(`Unknown configuration key "${key}" in ${where}`);
    }
  }
}

/** Reads, merges and validates the configuration. Throws `ConfigError` naming the offending key. */
export function loadConfig(options: LoadConfigOptions): Config {
  const { env } = options;
  const cwd = options.cwd ?? process.cwd();

  let configFile: string | null = null;
  let file: Record<string, unknown> = {};
  const named = options.file ?? (env.MAGENTO_ASYNC_CONFIG || undefined);
  if (named !== undefined) {
    configFile = resolve(cwd, named);
    file = readConfigFile(configFile);
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    configFile = resolve(cwd, DEFAULT_CONFIG_FILE);
    file = readConfigFile(configFile);
  }
  const fileSource = `config file ${configFile ?? ''}`.trim();
  rejectUnknownKeys(file, fileSource);
  const overrides = (options.overrides ?? {}) as Record<string, unknown>;
  rejectUnknownKeys(overrides, 'overrides');

  // Picks the highest-precedence raw value of one key; undefined means "not set anywhere".
  const pick = (spec: KeySpec, fromFile: unknown, fromOverride: unknown): Raw | undefined => {
    if (fromOverride !== undefined) return { value: fromOverride, source: 'overrides' };
    if (spec.env !== undefined && env[spec.env] !== undefined && env[spec.env] !== '') {
      return { value: env[spec.env], source: `env ${spec.env}` };
    }
    if (fromFile !== undefined) return { value: fromFile, source: fileSource };
    return undefined;
  };

  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(TOP)) {
    const raw = pick(spec, file[key], overrides[key]);
    out[key] = raw === undefined ? spec.default : spec.check(key, raw);
  }
  for (const [group, specs] of Object.entries(NESTED)) {
    const fromFile = (file[group] ?? {}) as Record<string, unknown>;
    const fromOverride = (overrides[group] ?? {}) as Record<string, unknown>;
    const values: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(specs)) {
      const raw = pick(spec, fromFile[key], fromOverride[key]);
      values[key] = raw === undefined ? spec.default : spec.check(`${group}.${key}`, raw);
    }
    out[group] = values;
  }

  if (out.bossSchema === undefined) {
    out.bossSchema = `${out.schema as string}_boss`;
    if (!SCHEMA_NAME.test(out.bossSchema as string)) {
      throw new ConfigError(
        `Invalid configuration "bossSchema": the default "<schema>_boss" is longer than 63 characters; set "bossSchema" or a shorter "schema"`,
      );
    }
  }
  if (out.bossSchema === out.schema) {
    throw new ConfigError(`Invalid configuration "bossSchema": must differ from "schema" (pg-boss owns its schema)`);
  }
  const dashboard = out.dashboard as Record<string, unknown>;
  dashboard.enabled ??= out.mode === 'developer';
  out.configFile = configFile;
  return out as unknown as Config;
}
