/**
 * The extension author's test kit: a whole magento-async in one process, on a database of its own,
 * with the plugins under test loaded. An operation is sent as a client sends it (HTTP, through
 * store resolution, validation and input building), run by a real consumer (argument parsing,
 * store scope, interceptor chain, the handler's transaction) and read back from the bulk status
 * API, so a plugin's test passes or fails for the reasons it would in production. Nothing here
 * re-implements the runtime: it wires `startServer` and `startConfiguredConsumer` as `start` does.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { QueryResultRow } from 'pg';
import { createIntegrationToken } from '../auth/index.ts';
import { configDefaults, loadConfig, type ConfigOverrides } from '../config.ts';
import { startConfiguredConsumer, type ConfiguredConsumer } from '../consumer/run.ts';
import { migrate } from '../db/migrate.ts';
import { ident, withTransaction } from '../db/pool.ts';
import type { Logger } from '../kernel/logger.ts';
import { PACKAGE_ROOT, packageModule } from '../kernel/package.ts';
import type { PluginDefinition } from '../plugins/define.ts';
import type { Route } from '../routes/types.ts';
import { importArtifacts, loadArtifacts, type Artifacts } from '../runtime/artifacts.ts';
import { startServer, type RunningServer } from '../server.ts';
import { createStore } from '../store/stores.ts';
import { openKitDatabase, type KitDatabase } from './database.ts';
import { exampleArgs } from './example-args.ts';

/** The Magento-style sample spec this package ships: enough routes for most plugin tests. */
export const SAMPLE_SPEC = join(PACKAGE_ROOT, 'openapi/magento-sample.yaml');

/** What codegen generated from it, shipped with the package: a kit on the sample runs no codegen. */
const SAMPLE_GENERATED = packageModule('src/generated');

/** A plugin in memory: its definition, or its module (`import * as plugin from './index.ts'`, with `migrations`). */
export type PluginSource = PluginDefinition | { default: PluginDefinition; [exported: string]: unknown };

export interface TestKitOptions {
  /** Plugins in memory, loaded after `pluginsDir` and `packages`. */
  plugins?: readonly PluginSource[];
  /** A folder of plugin folders (`<dir>/<name>/index.ts`), as `pluginsDir` configures. Default: none. */
  pluginsDir?: string;
  /** Plugin packages by name, as `pluginPackages` configures, resolved from `projectDir`. */
  packages?: readonly string[];
  /** Where `packages` are installed (its node_modules). Default: the working directory. */
  projectDir?: string;
  /**
   * The routes: a spec (file or URL, generated into a temporary folder), or a codegen output folder
   * (`generatedDir`), or artifacts already loaded. Default: the sample spec (`SAMPLE_SPEC`), as
   * generated in the package.
   */
  spec?: string;
  generatedDir?: string;
  artifacts?: Artifacts;
  /** Store views to create besides `admin` (0) and `default` (1). */
  stores?: readonly { code: string; name: string }[];
  /** A PostgreSQL server to use; default `DATABASE_URL`, else an embedded one started for the kit. */
  databaseUrl?: string;
  /**
   * Further configuration, as in magento-async.config.json (e.g. `upstream`). The kit turns
   * automatic retries off unless this sets `consumer.retryLimit`, so a RetriableError is status 2 at once.
   */
  config?: ConfigOverrides;
  /** Where handlers' `ctx.log` and the runtime log go. Default: nowhere. */
  log?: Logger;
  /**
   * How long a handler may run before it is aborted, as `consumer.handlerTimeoutSeconds` does
   * (whole seconds); its operation is then retriably failed (status 2). Default: that setting's.
   */
  timeoutMs?: number;
  /** A label for the kit's schemas. */
  name?: string;
}

/** Magento's operation statuses (`Magento\AsynchronousOperations\Api\Data\OperationInterface`). */
export const STATUS = { COMPLETE: 1, RETRIABLY_FAILED: 2, FAILED: 3, OPEN: 4, REJECTED: 5 } as const;

/** One operation as the bulk status API shows it, with its result parsed. */
export interface OperationOutcome {
  bulkUuid: string;
  /** Index in its bulk. */
  key: number;
  /** 1 complete, 2 retriably failed, 3 failed, 4 open, 5 rejected (STATUS). */
  status: number;
  /** The handler's return value, as stored (`result_serialized_data` parsed); null when it failed. */
  result: unknown;
  /** `result_message`: `Service execution success <Plugin>::<operationId>` or the failure's message. */
  message: string | null;
  /** `error_code`: an OperationError's or RetriableError's code; null on success. */
  errorCode: number | null;
  /** `<Plugin>::<operationId>` of the handler that succeeded, else null. */
  handler: string | null;
  topic: string;
}

/** One item of a validate-only answer (Magento's ItemStatusInterface). */
export interface ItemVerdict {
  id: number;
  data_hash: string | null;
  status: 'accepted' | 'rejected';
  error_message?: string;
  error_code?: number;
}

export interface KitResponse {
  status: number;
  /** The parsed JSON body (Magento's `{message, parameters}` for an error), or the text. */
  body: any;
}

/** The request was refused before anything was stored (a 4xx): invalid arguments, unknown store, … */
export class RequestRejectedError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    const message =
      body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : JSON.stringify(body);
    super(`The request was rejected with ${status}: ${message}`);
    this.name = 'RequestRejectedError';
    this.status = status;
    this.body = body;
  }
}

export interface RunOptions {
  /** Store code of the URL (`/rest/<code>/...`): `default`, `all`, a created one. Default: none. */
  store?: string;
}

export interface TestKit {
  /** The server's base URL (`http://127.0.0.1:<port>`) and a token with every resource. */
  url: string;
  token: string;
  routes: readonly Route[];
  /** Our schema: where `bulk`, `operation`, `store` are (plugin tables are in `<schema>__<plugin>`). */
  schema: string;
  /** pg-boss's schema (the jobs). */
  bossSchema: string;
  /** Runs one operation with these arguments (path parameters beside the body's keys) and waits for its outcome. */
  run(operationId: string, args: Record<string, unknown>, options?: RunOptions): Promise<OperationOutcome>;
  /** Runs a bulk of operations of one operationId, in order, and waits for all outcomes. */
  runBulk(
    operationId: string,
    args: readonly Record<string, unknown>[],
    options?: RunOptions,
  ): Promise<OperationOutcome[]>;
  /**
   * Sends a bulk of operations of one operationId with `?validateOnly=true&partialAccept=true`: the
   * verdict on each item (Magento's `request_items`: accepted, or rejected with the message and code
   * of the validation or of a plugin's check), with nothing stored or run.
   */
  validate(operationId: string, args: readonly Record<string, unknown>[], options?: RunOptions): Promise<ItemVerdict[]>;
  /** Any request, with the kit's token (`path` from `/rest`, e.g. `/rest/default/async/V1/products/sku-1`). */
  request(method: string, path: string, body?: unknown): Promise<KitResponse>;
  /** The smallest arguments the spec accepts for the operation (every required property), to start a case from. */
  example(operationId: string): Record<string, unknown>;
  /** Waits until no operation of the bulk is open, and returns them all. */
  outcomes(bulkUuid: string): Promise<OperationOutcome[]>;
  /** A query on the kit's database with our schema first on the search path, as handlers see it. */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Stops the consumer (operations in hand finish) and the server, and drops the database. */
  close(): Promise<void>;
}

const SILENT: Logger = { info() {}, warn() {}, error() {}, debug() {} };
const SUCCESS = /^Service execution success (\S+)$/;

function asModule(source: PluginSource, index: number): { source: string; module: Record<string, unknown> } {
  const isModule = 'default' in source && source.default !== undefined && typeof source.default === 'object';
  const module = (isModule ? source : { default: source }) as Record<string, unknown>;
  const name = (module.default as { name?: unknown }).name;
  return { source: `plugins[${index}]${typeof name === 'string' ? ` ${name}` : ''}`, module };
}

async function routesFor(options: TestKitOptions, scratch: string): Promise<Artifacts> {
  if (options.artifacts) return options.artifacts;
  if (options.generatedDir) return importArtifacts(resolve(options.generatedDir));
  if (options.spec) return loadArtifacts({ spec: options.spec, cacheDir: join(scratch, 'generated') });
  return importArtifacts(SAMPLE_GENERATED, SAMPLE_SPEC);
}

/** Starts a kit; `await using kit = await startTestKit(...)` or `t.after(() => kit.close())`. */
export async function startTestKit(options: TestKitOptions = {}): Promise<TestKit & AsyncDisposable> {
  const log = options.log ?? SILENT;
  const handlerSeconds = Math.max(
    1,
    Math.ceil((options.timeoutMs ?? configDefaults.consumer.handlerTimeoutSeconds * 1000) / 1000),
  );
  // `run` waits for the consumer to abort a handler, and this much more, before it gives up.
  const waitMs = handlerSeconds * 1000 + 15_000;
  const scratch = mkdtempSync(join(tmpdir(), 'magento-async-kit-run-'));
  const noPlugins = join(scratch, 'no-plugins');
  mkdirSync(noPlugins);
  let db: KitDatabase | undefined;
  let consumer: ConfiguredConsumer | undefined;
  let server: RunningServer | undefined;
  const stop = async () => {
    await consumer?.close().catch(() => {});
    await server?.close().catch(() => {});
    await db?.drop().catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const artifacts = await routesFor(options, scratch);
    db = await openKitDatabase({ databaseUrl: options.databaseUrl, name: options.name });
    const extra = options.config ?? {};
    const config = loadConfig({
      env: {},
      // No project configuration file applies: a kit is configured by its options only.
      cwd: scratch,
      overrides: {
        ...extra,
        databaseUrl: db.url,
        schema: db.schema,
        bossSchema: db.bossSchema,
        port: 0,
        logLevel: 'silent',
        // Where the routes came from: what the consumer reads beside them (the validators) is theirs.
        generatedDir: artifacts.dir,
        pluginsDir: options.pluginsDir ? resolve(options.pluginsDir) : noPlugins,
        pluginPackages: [...(options.packages ?? [])],
        dashboard: { enabled: false, ...extra.dashboard },
        // The kit's database is its own and thrown away: the key may live there (src/auth/crypt-key.ts).
        cryptKeyInDatabase: extra.cryptKeyInDatabase ?? true,
        // A handler that never returns is aborted as in production (and `close` can finish).
        consumer: {
          retryLimit: 0,
          batchSize: 10,
          concurrency: 1,
          handlerTimeoutSeconds: handlerSeconds,
          ...extra.consumer,
        },
      },
    });
    await migrate(db.pool, db.schema);
    for (const store of options.stores ?? []) await createStore(db.pool, db.schema, store);
    const projectDir = options.projectDir ? resolve(options.projectDir) : undefined;
    consumer = await startConfiguredConsumer({
      config,
      routes: artifacts.routes,
      name: 'async.operations.all',
      log,
      plugins: (options.plugins ?? []).map(asModule),
      projectDir,
      // Arguments coerced by the validators of the kit's routes, as the server validated them.
      validators: artifacts.validators,
    });
    // The same plugins, for their checks in validate-only requests.
    server = await startServer({
      config,
      artifacts,
      log,
      host: '127.0.0.1',
      plugins: (options.plugins ?? []).map(asModule),
      projectDir,
    });
    const { token } = await createIntegrationToken(db.pool, db.schema, { name: 'test kit', resources: 'all' });
    const base = server.url;
    const routes = new Map(artifacts.routes.map((r) => [r.operationId, r]));

    const request = async (method: string, path: string, body?: unknown): Promise<KitResponse> => {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: kept as text */
      }
      return { status: response.status, body: parsed };
    };

    const outcomes = async (bulkUuid: string): Promise<OperationOutcome[]> => {
      const until = Date.now() + waitMs;
      for (;;) {
        const left = Math.max(1, Math.min(10, Math.ceil((until - Date.now()) / 1000)));
        const res = await request('GET', `/rest/V1/bulk/${bulkUuid}/detailed-status?waitSeconds=${left}`);
        if (res.status !== 200) throw new RequestRejectedError(res.status, res.body);
        const list = (res.body as { operations_list: DetailedOperation[] }).operations_list;
        if (!list.some((o) => o.status === STATUS.OPEN)) return list.map(toOutcome);
        if (Date.now() >= until) {
          const open = list.filter((o) => o.status === STATUS.OPEN).map((o) => o.id);
          throw new Error(
            `Operations ${open.join(', ')} of bulk ${bulkUuid} are still open after ${waitMs} ms: is a consumer of the kit stuck?`,
          );
        }
      }
    };

    const routeOf = (operationId: string): Route => {
      const route = routes.get(operationId);
      if (route) return route;
      throw new Error(
        `No operation "${operationId}" in the kit's routes (${artifacts.source}); known: ${[...routes.keys()].slice(0, 12).join(', ')}${routes.size > 12 ? ', …' : ''}`,
      );
    };
    const storePrefix = (runOptions: RunOptions) =>
      runOptions.store === undefined ? '/rest' : `/rest/${encodeURIComponent(runOptions.store)}`;
    const accepted = async (res: KitResponse): Promise<OperationOutcome[]> => {
      if (res.status !== 202) throw new RequestRejectedError(res.status, res.body);
      const body = res.body as { bulk_uuid: string; request_items: { status: string }[] };
      if (body.request_items.some((i) => i.status !== 'accepted')) throw new RequestRejectedError(res.status, body);
      return outcomes(body.bulk_uuid);
    };

    const kit: TestKit & AsyncDisposable = {
      url: base,
      token,
      routes: artifacts.routes,
      schema: db.schema,
      bossSchema: db.bossSchema,
      async run(operationId, args, runOptions = {}) {
        // As a client calls the async endpoint: path parameters in the URL, the rest as the body.
        const route = routeOf(operationId);
        const path = route.asyncPath.replace(/\{(\w+)\}/g, (_, name: string) => {
          if (args[name] === undefined || args[name] === null)
            throw new Error(`${operationId} needs the path parameter "${name}" in its arguments.`);
          return encodeURIComponent(String(args[name]));
        });
        const rest = Object.fromEntries(Object.entries(args).filter(([k]) => !route.pathParams.includes(k)));
        const body = route.bodyKey !== null ? rest[route.bodyKey] : route.hasBody ? rest : undefined;
        const [outcome] = await accepted(await request(route.method, storePrefix(runOptions) + path, body));
        return outcome!;
      },
      async validate(operationId, list, runOptions = {}) {
        const route = routeOf(operationId);
        const path = `${storePrefix(runOptions)}${route.bulkPath}?validateOnly=true&partialAccept=true`;
        const res = await request(route.method, path, list);
        if (res.status !== 200) throw new RequestRejectedError(res.status, res.body);
        return (res.body as { request_items: ItemVerdict[] }).request_items;
      },
      async runBulk(operationId, list, runOptions = {}) {
        // Each element is a complete set of arguments, path parameters as top-level keys (CONTRACT §1).
        const route = routeOf(operationId);
        return accepted(await request(route.method, storePrefix(runOptions) + route.bulkPath, list));
      },
      request,
      outcomes,
      example: (operationId) => exampleArgs(routeOf(operationId), artifacts.schemas.async),
      async query(text, values) {
        // The search path of a handler's transaction: ours, then each plugin's schema, then public.
        const path = consumer!.registry.searchPath(db!.schema);
        return withTransaction(db!.pool, async (client) => {
          await client.query(`SET LOCAL search_path TO ${path.map(ident).join(', ')}`);
          return (await client.query(text, values)).rows;
        });
      },
      close: stop,
      [Symbol.asyncDispose]: stop,
    };
    return kit;
  } catch (error) {
    await stop();
    throw error;
  }
}

interface DetailedOperation {
  id: number;
  bulk_uuid: string;
  topic_name: string;
  status: number;
  result_serialized_data: string | null;
  result_message: string | null;
  error_code: number | null;
}

function toOutcome(o: DetailedOperation): OperationOutcome {
  let result: unknown = null;
  if (o.result_serialized_data !== null) {
    try {
      result = JSON.parse(o.result_serialized_data);
    } catch {
      result = o.result_serialized_data;
    }
  }
  const success = o.status === STATUS.COMPLETE ? SUCCESS.exec(o.result_message ?? '') : null;
  return {
    bulkUuid: o.bulk_uuid,
    key: o.id,
    status: o.status,
    result,
    message: o.result_message,
    errorCode: o.error_code,
    handler: success ? success[1]! : null,
    topic: o.topic_name,
  };
}
