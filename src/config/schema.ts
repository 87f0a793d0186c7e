/**
 * Every setting of magento-async, once: its type, bounds, default, environment variable and the
 * line the README's configuration table shows. The `Config` type is derived from this schema
 * (`Static`), `loadConfig` validates against it, error messages describe what it allows, and
 * test/config/table.test.ts fails when the README's table differs from what it renders.
 *
 * Adding a setting: add it to its group below with `default`, `description` (one line for the
 * README: what it does, in the operator's words) and `env` when deployments set it from the
 * environment; then `npm run config:table` rewrites the README's table. Read it as
 * `config.group.key` from the `Config` every component is given; a module that takes it as an
 * optional option falls back to `configDefaults` (src/config.ts), never to a literal of its own.
 *
 * Annotations besides JSON Schema's (registered with ajv as vocabulary, so its strict mode still
 * catches typos in real keywords):
 *   env          the environment variable that sets the key (comma-separated for lists)
 *   defaultText  how the README shows a default that is derived or needs words
 *   expected     how an error message describes the allowed values when the type alone does not
 */
import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import { EXAMPLE_NAMES } from '../plugins/examples.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const MODES = ['production', 'developer'] as const;

const MIB = 1024 * 1024;

interface Annotations extends SchemaOptions {
  env?: string;
  defaultText?: string;
  expected?: string;
}

function OneOf<T extends string>(values: readonly T[], options: Annotations) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

function Nullable<T extends TSchema>(schema: T, options: Annotations) {
  return Type.Union([schema, Type.Null()], options);
}

// Postgres identifiers are at most 63 bytes; `ident()` rejects anything else at query time, which
// would be far from the config that caused it.
const identifier = (options: Annotations) =>
  Type.String({
    pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$',
    expected: 'a database identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)',
    ...options,
  });

const NonEmpty = (options: Annotations = {}) => Type.String({ minLength: 1, ...options });
const Group = <P extends Record<string, TSchema>>(properties: P, description: string) =>
  Type.Object(properties, { additionalProperties: false, description });

const upstream = Group(
  {
    baseUrl: Nullable(Type.String({ format: 'http-url' }), {
      default: null,
      defaultText: 'none',
      description:
        "http-forward's real store (`…/rest`); the operation's store code and sync path are appended. None: an operation without a handler fails (status 3) naming the missing handler",
    }),
    token: Nullable(NonEmpty(), {
      default: null,
      defaultText: 'none',
      description: 'bearer token sent upstream (an integration token of the real store)',
    }),
    // Also bounded by consumer.handlerTimeoutSeconds.
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 30_000,
      description: "each upstream call's deadline, ms from when it is sent (a timeout is retriable)",
    }),
    // A Magento store serves a few dozen PHP-FPM workers at most, and calls beyond its pool only
    // queue there; also the size of the keep-alive connection pool.
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 16,
      description:
        'calls to the upstream in flight at once, per consumer process ([http-forward](docs/consumers-and-retries.md#forwarding-to-the-real-store-http-forward))',
    }),
    maxPerSecond: Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }), {
      default: null,
      defaultText: 'none',
      description: 'calls started per second to the upstream, per consumer process',
    }),
  },
  'Upstream for the `http-forward` plugin.',
);

const database = Group(
  {
    connectTimeoutMs: Type.Integer({
      minimum: 1,
      maximum: 600_000,
      default: 10_000,
      description: 'wait for a connection (a new one, or a free one of the pool), ms',
    }),
    statementTimeoutMs: Type.Integer({
      minimum: 0,
      maximum: 86_400_000,
      default: 60_000,
      description: 'PostgreSQL `statement_timeout` of every connection, ms (0: none)',
    }),
    idleInTransactionTimeoutMs: Type.Integer({
      minimum: 0,
      maximum: 86_400_000,
      default: 120_000,
      description: 'PostgreSQL `idle_in_transaction_session_timeout` of every connection, ms (0: none)',
    }),
  },
  'Bounds every database connection of every pool is opened with.',
);

const plugins = Group(
  {
    examples: Nullable(Type.Array(OneOf(EXAMPLE_NAMES, {})), {
      default: null,
      env: 'MAGENTO_ASYNC_PLUGIN_EXAMPLES',
      defaultText: 'none (`start`: all three unless an upstream is set)',
      expected: `a list of shipped examples (${EXAMPLE_NAMES.join(', ')})`,
      description: 'the example plugins of `examples/` to run: `catalog`, `customer`, `cms`',
    }),
  },
  'Which plugins load besides `pluginsDir` and `pluginPackages`.',
);

const consumer = Group(
  {
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 100,
      description: "jobs per fetch (pg-boss `batchSize`; Magento's `--batch-size`)",
    }),
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 4,
      description: 'batches in flight per queue and worker process (pg-boss `localConcurrency`)',
    }),
    // A consumer claims only what it can start now, and every claim of a batch starts at once: below
    // `batchSize`, fetches shrink to the free slots and fewer batches overlap their round trips
    // (bench:consumer with 32: 0.18x of raw pg-boss against 0.43x with every claim started, same
    // run). bench/executor.bench.ts (a 20 ms I/O handler): 1,900–2,300 ops/s at 32, 2,500 at 64.
    // Calls to one upstream are capped by its own limit whatever this says.
    inFlight: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 100,
      description:
        "handlers in flight per fetch loop: a consumer runs at most `concurrency` × this per queue at once and claims only what it can start now (one entity key's operations never overlap; `ctx.tx` users take the batch's shared transaction in turn)",
    }),
    retryLimit: Type.Integer({
      minimum: 0,
      maximum: 1000,
      default: 5,
      description: 'automatic retries of a retriably failed operation (status 2) before it stays failed',
    }),
    // pg-boss's job retries, apart from the operation's own: a delivery is retried when its worker
    // died (its job expired) or its batch failed; an operation's retries are jobs of their own.
    deliveryRetryLimit: Type.Integer({
      minimum: 0,
      maximum: 1000,
      default: 10,
      description:
        "deliveries of an operation's job after its worker died or its batch failed, before the operation is closed as abandoned (pg-boss `retryLimit`)",
    }),
    deliveryRetryDelaySeconds: Type.Integer({
      minimum: 0,
      maximum: 86400,
      default: 2,
      description: 'delay before such a delivery, s, doubled each time (pg-boss `retryDelay`)',
    }),
    retryDelaySeconds: Type.Integer({
      minimum: 0,
      maximum: 86400,
      default: 2,
      description: 'delay before the first retry, s',
    }),
    retryBackoff: Type.Boolean({
      default: true,
      description: 'double the retry delay each time, with jitter',
    }),
    // How a crashed worker's operations are never stranded.
    expireInSeconds: Type.Integer({
      minimum: 1,
      maximum: 86400,
      default: 60,
      description: 'seconds before pg-boss delivers a job again whose worker went silent (pg-boss `expireInSeconds`)',
    }),
    // 10 is pg-boss's own minimum.
    heartbeatSeconds: Nullable(Type.Integer({ minimum: 10, maximum: 86400 }), {
      default: 10,
      description:
        "pg-boss heartbeat, s (null: none): a dead worker's jobs run again within about twice this instead of `expireInSeconds`",
    }),
    handlerTimeoutSeconds: Type.Integer({
      minimum: 1,
      maximum: 86400,
      default: 30,
      description:
        'longest one handler runs (then aborted through `ctx.signal`, retried); a SIGTERM exits within this plus about 5 s',
    }),
    requiresWaitLimitSeconds: Type.Integer({
      minimum: 1,
      maximum: 604_800,
      default: 3600,
      description:
        "longest an operation waits for an unfinished one it requires (a plugin's `requires`) before it fails naming the missing key ([dependencies](docs/dependencies.md))",
    }),
  },
  'Worker settings of `queue:consumers:start`.',
);

const oauth = Group(
  {
    integrationAsBearer: Nullable(Type.Boolean(), {
      default: null,
      defaultText: '`null`: on in developer mode only',
      description:
        "accept integrations' OAuth access tokens as bearer tokens (`oauth/consumer/enable_integration_as_bearer`; off in Magento 2.4.4+)",
    }),
    timestampWindowSeconds: Type.Integer({
      minimum: 1,
      maximum: 86400,
      default: 600,
      description: "accepted clock difference of `oauth_timestamp`, either way (Magento's `TIME_DEVIATION`)",
    }),
    adminTokenLifetimeHours: Type.Integer({
      minimum: 1,
      maximum: 8760,
      default: 4,
      description: 'lifetime of admin tokens (`oauth/access_token_lifetime/admin`)',
    }),
    adminMaxFailures: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 6,
      description:
        'failed admin token requests before the user name is locked (`oauth/authentication_lock/max_failures_count`)',
    }),
    adminLockSeconds: Type.Integer({
      minimum: 0,
      maximum: 30 * 86400,
      default: 1800,
      description:
        'how long a locked user name stays locked after its last failure (`oauth/authentication_lock/timeout`)',
    }),
  },
  'Authentication settings (docs/authentication.md).',
);

const dashboard = Group(
  {
    // No `default`: it follows `mode` (src/config.ts).
    enabled: Type.Boolean({
      env: 'MAGENTO_ASYNC_DASHBOARD',
      defaultText: 'off in production (on for `start` and developer mode)',
      description: 'serve [the bulk dashboard](docs/dashboard.md)',
    }),
    path: Type.String({
      format: 'url-path',
      default: '/admin/bulks',
      expected: 'a path like /admin/bulks (not under /rest, not /metrics)',
      description: 'where the dashboard is served',
    }),
  },
  'The operator dashboard (docs/dashboard.md).',
);

const metrics = Group(
  {
    enabled: Type.Boolean({ default: true, description: 'serve [Prometheus `/metrics`](docs/metrics.md) on `serve`' }),
    token: Nullable(NonEmpty(), {
      default: null,
      defaultText: 'none',
      description: 'bearer token `/metrics` requires (without one, and without `loopbackOnly`, every scrape gets 403)',
    }),
    loopbackOnly: Type.Boolean({
      default: false,
      defaultText: 'false (true for `npm start`)',
      description:
        'answer loopback clients without the token: only where no reverse proxy on the same host forwards to the port (a request with forwarding headers is still refused)',
    }),
    consumerPort: Nullable(Type.Integer({ minimum: 0, maximum: 65535 }), {
      default: null,
      defaultText: 'none',
      description: "port of a consumer's own metrics server (0: any free port, logged)",
    }),
    consumerHost: NonEmpty({ default: '127.0.0.1', description: "address the consumer's metrics server binds to" }),
  },
  'Prometheus metrics (docs/metrics.md).',
);

const webhooks = Group(
  {
    secret: Nullable(NonEmpty(), {
      default: null,
      env: 'MAGENTO_ASYNC_WEBHOOK_SECRET',
      defaultText: 'none (webhooks off)',
      description:
        'HMAC-SHA256 key of `X-Magento-Async-Signature` ([completion webhooks](docs/webhooks.md)); without it a request asking for a webhook gets 400',
    }),
    allow: Type.Array(NonEmpty(), {
      default: [],
      description:
        'destinations allowed: origins (`https://hooks.example.com`, any path below) or host patterns (`*.example.com`)',
    }),
    allowLoopback: Type.Boolean({
      default: false,
      description:
        'allow loopback addresses (127.0.0.0/8, ::1, also IPv4-mapped, NAT64 or 6to4) as destinations (checked after DNS)',
    }),
    allowPrivate: Type.Boolean({
      default: false,
      description:
        'allow private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) as destinations; link-local and metadata never',
    }),
    integrations: Type.Record(Type.String(), NonEmpty(), {
      default: {},
      description: 'webhook URL per integration (token name), for bulks accepted without `X-Callback-Url`',
    }),
    maxAttempts: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 8,
      description: 'delivery attempts before a webhook is given up',
    }),
    retryBaseMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 5000,
      description: 'delay before the second attempt, doubled for each further one (at most 1 hour), ms',
    }),
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 600_000,
      default: 10_000,
      description: 'timeout of one delivery, ms',
    }),
    pollMs: Type.Integer({
      minimum: 10,
      maximum: 600_000,
      default: 1000,
      description: 'how often the sender looks for finished bulks and due retries, ms',
    }),
  },
  'Completion webhooks (docs/webhooks.md).',
);

const retention = Group(
  {
    // Magento's "Days Saved in Log" (system/bulk/lifetime), 60 by default; Magento deletes every bulk
    // started that long ago, finished or not, in one statement.
    bulkDays: Nullable(Type.Integer({ minimum: 1, maximum: 36_500 }), {
      default: 60,
      description:
        'finished bulks started this many days ago or earlier are deleted, with their operations, webhook deliveries and pg-boss jobs, as Magento\'s "Days Saved in Log"; null keeps them',
    }),
    sweepSeconds: Type.Integer({
      minimum: 1,
      maximum: 86400,
      default: 600,
      description: 'how often a server looks for them (one server at a time sweeps, under an advisory lock)',
    }),
    // Each batch is one transaction, so this bounds how long the sweep holds row locks (of expired
    // rows, which accepts never touch). bench/retention.bench.ts on 1,000,000 operations at load
    // average 20–30 on 2 cores: longest transaction 373 ms at 5,000, 570 ms at 1,000 (load drift);
    // no accept waited on the sweep either way. 1,000 keeps a transaction short on a quiet machine.
    batchOperations: Type.Integer({
      minimum: 100,
      maximum: 1_000_000,
      default: 1000,
      description: 'most operations (or pg-boss jobs) deleted in one transaction of the sweep',
    }),
  },
  'Deleting old bulks (docs/status-api.md#retention).',
);

export const ConfigSchema = Type.Object(
  {
    databaseUrl: Type.Optional(
      NonEmpty({
        env: 'DATABASE_URL',
        defaultText:
          "`npm start`'s database (`var/instance.json`), else `postgres://postgres@127.0.0.1:5432/test`; `start` runs an embedded one",
        description: 'PostgreSQL connection string; `--verbose` says which one a command uses',
      }),
    ),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      env: 'PORT',
      description: 'HTTP port of `serve` (`start` falls back to a free port if taken; 0 = any)',
    }),
    cryptKey: Type.Optional(
      NonEmpty({
        env: 'CRYPT_KEY',
        defaultText: 'none: from `cryptKeyFile`, else refused in production',
        description:
          "Magento's `crypt/key` (the last key; `base64…` keys decoded), the `data_hash` HMAC key; every server of a deployment must agree",
      }),
    ),
    cryptKeyFile: Type.Optional(
      NonEmpty({
        env: 'CRYPT_KEY_FILE',
        defaultText: "`var/crypt.key` on `npm start`'s database",
        description:
          'a file holding the crypt key (a mounted secret, mode 0600), read at start; `CRYPT_KEY` wins over it',
      }),
    ),
    cryptKeyInDatabase: Nullable(Type.Boolean(), {
      default: null,
      env: 'MAGENTO_ASYNC_CRYPT_KEY_IN_DATABASE',
      defaultText: '`null`: in developer mode only',
      description:
        'without `CRYPT_KEY` or a key file, keep the key in the database beside the secrets it encrypts (a dump then opens them); production refuses to start unless true',
    }),
    schema: identifier({
      default: 'magento_async',
      env: 'MAGENTO_ASYNC_SCHEMA',
      description: 'database schema of our tables',
    }),
    // No `default`: derived from `schema` (src/config.ts).
    bossSchema: identifier({
      defaultText: '`<schema>_boss`',
      description: "pg-boss's schema (must differ from `schema`)",
    }),
    logLevel: OneOf(LOG_LEVELS, {
      default: 'info',
      env: 'LOG_LEVEL',
      defaultText: '`info` (`warn` for `start`)',
      description: 'pino level; logs are JSON on stderr',
    }),
    mode: OneOf(MODES, {
      default: 'production',
      env: 'MAGENTO_ASYNC_MODE',
      description:
        "`developer` adds `trace` to error responses and detailed decoding errors, as Magento's developer mode: never where clients are untrusted",
    }),
    maxBulkItems: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 5000,
      description: 'elements per bulk (400 `Maximum items of type "%type" is %max`)',
    }),
    maxBodyBytes: Type.Integer({
      minimum: 1024,
      maximum: 1024 * MIB,
      default: 20 * MIB,
      defaultText: '20 MiB',
      description: 'larger request bodies get 413',
    }),
    maxJsonDepth: Type.Integer({
      minimum: 2,
      maximum: 10_000,
      default: 64,
      description: 'deepest nesting of arrays and objects accepted in a body',
    }),
    partialAccept: Type.Boolean({
      default: false,
      description:
        'accept the valid elements of a bulk and reject the invalid ones (202 with `errors: true`) instead of 400 for all, as Magento; per request `?partialAccept=true`',
    }),
    validateTimeoutMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 10_000,
      description:
        "deadline of the plugins' checks (`validate`), ms: all checks of one `?validateOnly=true` request (items not judged by then are rejected saying so), and one operation's checks before its handler (then it fails retriably)",
    }),
    idempotencyTtlSeconds: Type.Integer({
      minimum: 1,
      maximum: 365 * 86400,
      default: 86400,
      description: 'how long an `Idempotency-Key` is remembered',
    }),
    idempotencySweepSeconds: Type.Integer({
      minimum: 1,
      maximum: 86400,
      default: 600,
      description: 'how often each server deletes expired `Idempotency-Key` rows',
    }),
    maxConcurrentAccepts: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 256,
      description: 'async/bulk requests processed at once; over it 503 with `Retry-After`',
    }),
    maxConcurrentStreams: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 64,
      description: "event streams (the dashboard's live views) open at once; over it 503 with `Retry-After`",
    }),
    // A bulk body is decoded and validated in about 20 times its size.
    maxAcceptBytesInFlight: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * MIB,
      default: 32 * MIB,
      defaultText: '32 MiB',
      description:
        "body bytes all accepts may hold together (the first 64 KiB of each are free); over it 503 with `Retry-After`; the accept path's memory peaks at about 20× this; at least `maxBodyBytes`",
    }),
    busyRetryAfterSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 1,
      description: 'the `Retry-After` of those 503s',
    }),
    requestTimeoutSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 60,
      description: 'a whole request must arrive within this (408); headers within 30 s',
    }),
    database,
    groupCommit: Type.Boolean({
      default: true,
      description:
        'concurrent accepts share a transaction (one fsync for many requests); `false`: one commit per request',
    }),
    acceptTransactions: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 2,
      description: 'accept transactions committing at once; a request arriving while they commit joins the next one',
    }),
    spec: Type.Optional(
      NonEmpty({
        env: 'MAGENTO_ASYNC_SPEC',
        defaultText: 'the one codegen recorded in `src/generated/spec.json`',
        description:
          'the spec `start`, `serve` and consumers run; naming another one is an error saying which `codegen` to run (`start` regenerates when the recorded file itself changed)',
      }),
    ),
    generatedDir: NonEmpty({
      default: 'src/generated',
      description: 'where codegen writes and the runtime reads routes',
    }),
    pluginsDir: NonEmpty({ default: 'plugins', description: 'folder of local plugins (`<pluginsDir>/<entity>/`)' }),
    pluginPackages: Type.Array(NonEmpty(), {
      default: [],
      description:
        "npm packages loaded as plugins, found in the project's `node_modules` ([packaging a plugin](docs/testing-plugins.md#4-package-it))",
    }),
    plugins,
    upstream,
    consumer,
    oauth,
    statusPageSizeMax: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 300,
      description: 'largest `searchCriteria[page_size]` of the bulk list API',
    }),
    dashboard,
    metrics,
    webhooks,
    retention,
  },
  { additionalProperties: false },
);

/** A node of the schema as TypeBox builds it, with our annotations: what the loader and the table read. */
export interface SchemaNode extends Annotations {
  type?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  format?: string;
}

/** What a config file, the environment and overrides may set. */
export type Settings = Static<typeof ConfigSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type Mode = (typeof MODES)[number];
export type WebhooksConfig = Settings['webhooks'];
