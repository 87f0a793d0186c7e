/**
 * Which code runs an operation. The consumer asks `invoke(operationId, args, ctx)` and gets the
 * result plus the handler's name for `Service execution success <handler>`.
 *
 * Resolution, in order: a real handler (exactly one plugin claims it, or the claimants are settled
 * by `replaces`); the fallback (http-forward, only when an upstream is configured); the generated
 * stub, which fails with its own message naming the file to edit; else NoHandlerError. Stubs lose to
 * everything because codegen writes one for every operation, so a stub says nothing about intent.
 */
import { isStub } from './stubs.ts';
import type { BatchHandler, BatchOutcome, Handler, HandlerContext } from '../kernel/handler.ts';
import type { Gate } from '../kernel/gate.ts';
import type { Interceptor } from './define.ts';
import { compileBatchChain, type BatchInvoke } from './batch-chain.ts';
import { compileChain, type Invoke, type OwnedInterceptor } from './pipeline.ts';
import { pluginSchema, pluginsWithSchemas } from './migrations.ts';
import type { Route } from '../routes/types.ts';
import { targetsRoute } from './targets.ts';
import { checkBeforeHandler, type Check } from './checks.ts';
import type { Requires } from '../kernel/requirement.ts';

export interface Invocation {
  result: unknown;
  /** `<PluginName>::<operationId>`, e.g. `Magento_Catalog::PutV1ProductsSku`. */
  handler: string;
}

export class NoHandlerError extends Error {
  readonly operationId: string;
  constructor(operationId: string, route?: Route) {
    const where = route
      ? `route ${route.method} ${route.path} (operation "${operationId}", topic ${route.topic})`
      : `operation "${operationId}"`;
    const file = route ? `plugins/${route.entity}/index.ts` : 'plugins/<entity>/index.ts';
    super(`No handler is implemented for ${where}: implement it in ${file} or configure an upstream for http-forward.`);
    this.name = 'NoHandlerError';
    this.operationId = operationId;
  }
}

/** A handler together with the plugin that provides it. */
export interface ResolvedHandler {
  plugin: string;
  handler: Handler;
}

/**
 * Given an operationId, a fallback returns a handler for it or undefined. Its `gate`, when it has
 * one, is what its handlers wait for (an upstream's call slots): the consumer claims a forwarded
 * operation only while the gate has a free slot for it (src/consumer/capacity.ts).
 */
export type Fallback = ((operationId: string) => Handler | undefined) & { readonly gate?: Gate };

export interface Install {
  plugin: string;
  /** SQL with unqualified table names, run once in the plugin's own schema (src/plugins/migrations.ts). */
  sql: string;
}

export interface RegistryTables {
  routes: readonly Route[];
  /** Winning real handler per operationId. */
  handlers: ReadonlyMap<string, ResolvedHandler>;
  /** Generated stub per operationId (used only when nothing else can run the operation). */
  stubs: ReadonlyMap<string, ResolvedHandler>;
  /** Enabled interceptors with their plugin; `target` `*` applies to every operation. */
  interceptors: readonly OwnedInterceptor[];
  fallback?: { plugin: string; resolve: Fallback } | undefined;
  installs?: readonly Install[];
  /** Entity-key declarations of the plugins (PluginDefinition.orderKeys), first plugin wins. */
  orderKeys?: ReadonlyMap<string, string[] | null>;
  /** Every plugin's `requires` per operationId, in load order (PluginDefinition.requires). */
  requires?: ReadonlyMap<string, readonly Requires[]>;
  /** The plugins declaring each operationId's `requires`, in load order (the schema documents name them). */
  requiredBy?: ReadonlyMap<string, readonly string[]>;
  /** What loaded but deserves the operator's eye (a stub that never runs): logged at start. */
  notes?: readonly string[];
  /** Batch handlers per operationId with their plugin (PluginDefinition.batchHandlers). */
  batchHandlers?: ReadonlyMap<string, { plugin: string; handler: BatchHandler }>;
  /** Every plugin's checks per operationId, in load order (PluginDefinition.validate). */
  checks?: ReadonlyMap<string, readonly Check[]>;
  /** Deadline of one operation's checks before its handler, ms. Default 10000. */
  checkTimeoutMs?: number | undefined;
}

const NO_CHECKS: readonly Check[] = [];

/** A compiled batch chain and the name its operations' `Service execution success` message gives. */
export interface BatchInvocation {
  handler: string;
  run: BatchInvoke;
}

interface Compiled {
  plugin: string;
  run: Invoke;
}

export class PluginRegistry {
  /** Each plugin's migrations, in load order; each consumer applies the pending ones at start (consumer/run.ts → migrations.ts). */
  readonly installs: readonly Install[];
  readonly orderKeys: ReadonlyMap<string, string[] | null>;
  /** Every plugin's `requires` per operationId (empty: no operation waits for another). */
  readonly requires: ReadonlyMap<string, readonly Requires[]>;
  /** The plugins declaring each operationId's `requires`, in load order. */
  readonly requiredBy: ReadonlyMap<string, readonly string[]>;
  readonly notes: readonly string[];
  private readonly tables: RegistryTables;
  private readonly routes: Map<string, Route>;
  private readonly compiled = new Map<string, Compiled | null>();
  private readonly searchPaths = new Map<string, readonly string[]>();
  private readonly batches = new Map<string, BatchInvocation | null>();

  constructor(tables: RegistryTables) {
    this.tables = tables;
    this.installs = tables.installs ?? [];
    this.orderKeys = tables.orderKeys ?? new Map();
    this.requires = tables.requires ?? new Map();
    this.requiredBy = tables.requiredBy ?? new Map();
    this.notes = tables.notes ?? [];
    this.routes = new Map(tables.routes.map((r) => [r.operationId, r]));
  }

  /**
   * The search path of a handler's transaction: our schema, then each plugin's (in load order), so
   * handlers name tables unqualified. Start checked that no name is in two of them.
   */
  searchPath(schema: string): readonly string[] {
    let path = this.searchPaths.get(schema);
    if (!path) {
      path = [schema, ...pluginsWithSchemas(this.installs).map((p) => pluginSchema(schema, p)), 'public'];
      this.searchPaths.set(schema, path);
    }
    return path;
  }

  /** True when invoke can run something for the operation (a real handler, the fallback or a stub). */
  has(operationId: string): boolean {
    return this.compile(operationId) !== null;
  }

  /** Name of the handler that would run, or null: lets tools list what is still a stub. */
  describe(operationId: string): { handler: string; kind: 'handler' | 'fallback' | 'stub' } | null {
    const resolved = this.resolve(operationId);
    return resolved && { handler: `${resolved.plugin}::${operationId}`, kind: resolved.kind };
  }

  /** The gate an operation's runs go through: the fallback's, when the fallback runs it. */
  gateOf(operationId: string): Gate | undefined {
    return this.resolve(operationId)?.kind === 'fallback' ? this.tables.fallback?.resolve.gate : undefined;
  }

  /** The plugins' checks (`validate`) of an operation, in load order; empty when it has none. */
  checks(operationId: string): readonly Check[] {
    return this.tables.checks?.get(operationId) ?? NO_CHECKS;
  }

  /**
   * Runs the operation: its plugins' checks first (src/plugins/checks.ts: read-only, on its
   * arguments as stored, before any interceptor; a refusal fails it without running anything
   * else), then the interceptor chain around its handler.
   */
  async invoke(operationId: string, args: unknown, ctx: HandlerContext): Promise<Invocation> {
    const compiled = this.compile(operationId);
    if (!compiled) throw new NoHandlerError(operationId, this.routes.get(operationId));
    const checks = this.checks(operationId);
    if (checks.length) await this.check(checks, args, ctx);
    const result = await compiled.run(args, ctx);
    return { result, handler: `${compiled.plugin}::${operationId}` };
  }

  private check(checks: readonly Check[], args: unknown, ctx: HandlerContext): Promise<void> {
    const context = {
      store: ctx.store,
      tx: ctx.tx,
      operationId: ctx.operation.operationId,
      index: ctx.operation.key,
      log: ctx.log,
    };
    return checkBeforeHandler(checks, args, context, ctx.signal, this.tables.checkTimeoutMs ?? 10_000);
  }

  /**
   * The batch chain for an operationId, or null when its operations run one by one: no batch
   * handler, one from a plugin whose single handler does not win the operation (a replaced plugin
   * keeps none of its handlers), or an `around` interceptor applies (batch-chain.ts).
   */
  batch(operationId: string): BatchInvocation | null {
    let batch = this.batches.get(operationId);
    if (batch === undefined) {
      const declared = this.tables.batchHandlers?.get(operationId);
      const single = this.tables.handlers.get(operationId);
      const chain =
        declared && single?.plugin === declared.plugin
          ? compileBatchChain(this.interceptorsFor(operationId), declared.handler)
          : null;
      const checks = this.checks(operationId);
      const run: BatchInvocation['run'] | null =
        chain && checks.length
          ? async (ops, ctx) => {
              // Each operation's checks first, as its single run would; the refused ones stay out
              // of the batch handler's call.
              const refused: (BatchOutcome | undefined)[] = [];
              for (const op of ops) {
                try {
                  await this.check(checks, op.args, op.ctx);
                  refused.push(undefined);
                } catch (error) {
                  if (ctx.signal.aborted) throw error;
                  refused.push({ ok: false, error });
                }
              }
              const passed = ops.filter((_, i) => !refused[i]);
              const answered = passed.length ? await chain(passed, ctx) : [];
              let next = 0;
              return refused.map((r) => r ?? answered[next++]!);
            }
          : chain;
      batch = run && { handler: `${declared!.plugin}::${operationId}`, run };
      this.batches.set(operationId, batch);
    }
    return batch;
  }

  private interceptorsFor(operationId: string) {
    const route = this.routes.get(operationId) ?? { operationId };
    return this.tables.interceptors.filter(
      (o) => targetsRoute(o.interceptor.target, route) && !o.except?.some((t) => targetsRoute(t, route)),
    );
  }

  private resolve(operationId: string): (ResolvedHandler & { kind: 'handler' | 'fallback' | 'stub' }) | null {
    const real = this.tables.handlers.get(operationId);
    if (real) return { ...real, kind: 'handler' };
    const forwarded = this.tables.fallback?.resolve(operationId);
    if (forwarded) return { plugin: this.tables.fallback!.plugin, handler: forwarded, kind: 'fallback' };
    const stub = this.tables.stubs.get(operationId);
    return stub ? { ...stub, kind: 'stub' } : null;
  }

  private compile(operationId: string): Compiled | null {
    let compiled = this.compiled.get(operationId);
    if (compiled === undefined) {
      const resolved = this.resolve(operationId);
      compiled = resolved && {
        plugin: resolved.plugin,
        run: compileChain(this.interceptorsFor(operationId), async (args, ctx) => resolved.handler(args, ctx)),
      };
      this.compiled.set(operationId, compiled);
    }
    return compiled;
  }
}

/** What `resolveClaims` needs of a loaded plugin. */
export interface ClaimingPlugin {
  name: string;
  source: string;
  handlers: Record<string, Handler | undefined>;
  replaces: readonly string[];
  /** Set for a shipped example: its name in `plugins.examples`. */
  example?: string | undefined;
}

/** Where a plugin's handler is edited, for messages. */
function fileOf(plugin: ClaimingPlugin): string {
  return plugin.source.replace(/ \(built in\)$/, '');
}

/** What an operator can do about two real handlers for one operation. */
function claimAdvice(operationId: string, claimants: readonly ClaimingPlugin[]): string {
  const own = claimants.filter((p) => !p.example);
  const examples = claimants.filter((p) => p.example);
  const ways = own.map((p) => `delete "${operationId}" from ${fileOf(p)}`);
  if (own.length && claimants.length === 2) {
    const [mine, other] = own.length === 2 ? own : [own[0]!, examples[0]!];
    ways.push(`add replaces: ['${other!.name}'] in ${fileOf(mine!)}`);
  }
  for (const e of examples) ways.push(`take "${e.example}" out of plugins.examples`);
  return ways.join(', or ');
}

/**
 * Settles which plugin's handler runs each operation. Two real handlers for one operation are a
 * load error unless `replaces` makes exactly one of them the winner (a plugin replaced by another
 * claimant drops out). Problems are returned, not thrown, so the loader can list them all at once.
 */
export function resolveClaims(plugins: readonly ClaimingPlugin[]): {
  handlers: Map<string, ResolvedHandler>;
  stubs: Map<string, ResolvedHandler>;
  problems: string[];
  /** Stubs beside a real handler for the same operation: they never run, and mislead a reader. */
  notes: string[];
} {
  const claims = new Map<string, ClaimingPlugin[]>();
  const stubs = new Map<string, ResolvedHandler>();
  const stubFiles = new Map<string, ClaimingPlugin>();
  for (const plugin of plugins) {
    for (const [operationId, handler] of Object.entries(plugin.handlers)) {
      if (!handler) continue;
      if (isStub(handler)) {
        if (!stubs.has(operationId)) {
          stubs.set(operationId, { plugin: plugin.name, handler });
          stubFiles.set(operationId, plugin);
        }
        continue;
      }
      claims.set(operationId, [...(claims.get(operationId) ?? []), plugin]);
    }
  }
  const handlers = new Map<string, ResolvedHandler>();
  const problems: string[] = [];
  for (const [operationId, claimants] of claims) {
    const winners = claimants.filter((p) => !claimants.some((q) => q !== p && q.replaces.includes(p.name)));
    if (winners.length === 1) {
      const w = winners[0]!;
      handlers.set(operationId, { plugin: w.name, handler: w.handlers[operationId]! });
      continue;
    }
    const who = claimants.map((p) => `${p.name} (${p.source})`).join(', ');
    problems.push(
      `${who}: each implements handler "${operationId}"; only one may, unless one plugin lists the other in "replaces". To fix: ${claimAdvice(operationId, claimants)}.`,
    );
  }
  const notes: string[] = [];
  for (const [operationId, stub] of stubFiles) {
    const real = handlers.get(operationId);
    if (!real) continue;
    const owner = plugins.find((p) => p.name === real.plugin)!;
    notes.push(
      `${fileOf(stub)}: "${operationId}" is a stub, but ${owner.name} (${owner.source}) implements it, so the stub never runs; delete its entry (codegen removes the entries it wrote).`,
    );
  }
  return { handlers, stubs, problems, notes };
}

/** A `disabled` entry naming `<Plugin>::<name>` switches off that plugin's interceptor. */
export function parseReference(name: string): { plugin: string; name: string } | null {
  const at = name.indexOf('::');
  return at < 0 ? null : { plugin: name.slice(0, at), name: name.slice(at + 2) };
}

/**
 * The interceptors that stay in chains. Own entries with `disabled: true` are off; a disabled
 * entry `<Plugin>::<name>` switches that interceptor off for its target (`*`: everywhere), which
 * lets a plugin silence another's `*` interceptor for one operation only, as Magento's
 * `<plugin name="…" disabled="true"/>` does per type.
 */
export function activeInterceptors(
  plugins: readonly { name: string; interceptors: readonly Interceptor[] }[],
): OwnedInterceptor[] {
  const off: { plugin: string; name: string; target: string }[] = [];
  for (const p of plugins) {
    for (const i of p.interceptors) {
      const ref = parseReference(i.name);
      if (ref && i.disabled) off.push({ ...ref, target: i.target });
    }
  }
  const result: OwnedInterceptor[] = [];
  for (const p of plugins) {
    for (const i of p.interceptors) {
      if (i.disabled || parseReference(i.name)) continue;
      const switchedOff = off.filter((o) => o.plugin === p.name && o.name === i.name);
      if (switchedOff.some((o) => o.target === '*' || o.target === i.target)) continue;
      const narrowed = switchedOff.map((o) => o.target);
      if (narrowed.length) {
        // Switched off for some operations (or service methods) only: keep it, but not on those.
        result.push({ plugin: p.name, interceptor: i, except: narrowed });
        continue;
      }
      result.push({ plugin: p.name, interceptor: i });
    }
  }
  return result;
}
