/**
 * A real consumer (src/consumer) in the test process, running the cart route through a plugin the
 * test steers: each operation takes `delayMs`, and a SKU starting with `fail` fails (status 3)
 * until `failing` is switched off, so a retry then completes it; one starting with `flaky` fails
 * retriably on its first attempt only (pg-boss retries it). Used by the operator tests
 * (dashboard, metrics, webhooks) that need bulks which run for a while and fail on purpose; a
 * `gate` lets a test release operations a few at a time and watch each step. A SKU `needs-<quote>`
 * requires the cart `<quote>` (the plugin API's `requires`): it waits while an operation of that
 * cart is unfinished, once the test saved the carts route's order rule (which consumers save at
 * start; not here, so carts are not ordered unless a test asks).
 */
import type { TestServer } from './server.ts';
import { loadPlugins, runInstalls } from '../../src/plugins/loader.ts';
import { startConsumer, type ConsumerHandle, type OperationInvoker } from '../../src/consumer/index.ts';
import { queueForEntity } from '../../src/queue/names.ts';
import { definePlugin, OperationError, RetriableError, type HandlerContext } from '../../src/plugin.ts';
import { createMetrics, type Metrics } from '../../src/metrics/registry.ts';
import { startHeartbeat } from '../../src/metrics/heartbeat.ts';
import { simulatedWork } from './wait.ts';

export const CART_BULK_PATH = '/rest/default/async/bulk/V1/carts/byQuoteId/items';

export interface CartSteering {
  delayMs: number;
  failing: boolean;
  /** When set, each operation waits for a permit before it runs, so a test sets the pace it observes. */
  gate?: Gate;
}

/** A counting semaphore a test opens step by step: `release(n)` lets n more operations run. */
export class Gate {
  #permits = 0;
  #open = false;
  #waiting: Array<() => void> = [];

  release(n: number): void {
    this.#permits += n;
    while (this.#permits > 0 && this.#waiting.length > 0) {
      this.#permits--;
      this.#waiting.shift()!();
    }
  }

  /** Every operation from now on runs without waiting. */
  open(): void {
    this.#open = true;
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /** Operations waiting at the gate now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  pass(): Promise<void> {
    if (this.#open) return Promise.resolve();
    if (this.#permits > 0) {
      this.#permits--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

export interface CartConsumer {
  consumer: ConsumerHandle;
  metrics: Metrics;
  steering: CartSteering;
  stop(): Promise<void>;
}

export function cartItems(skus: string[]): unknown[] {
  return skus.map((sku) => ({ quoteId: '7', cartItem: { qty: 1, quote_id: '7', sku } }));
}

export async function startCartConsumer(server: TestServer, steering: CartSteering): Promise<CartConsumer> {
  const plugin = definePlugin({
    name: 'Test_Operators',
    compatibility: '*',
    handlers: {
      async PostV1CartsQuoteIdItems(args: { cartItem: { sku: string } }, ctx: HandlerContext) {
        await steering.gate?.pass();
        await simulatedWork(steering.delayMs);
        if (args.cartItem.sku.startsWith('flaky') && ctx.operation.attempt === 1) {
          throw new RetriableError(`${args.cartItem.sku}: upstream busy`);
        }
        if (steering.failing && args.cartItem.sku.startsWith('fail')) {
          throw new OperationError(`Cannot add ${args.cartItem.sku}: out of stock`);
        }
        return { sku: args.cartItem.sku };
      },
    },
    requires: {
      PostV1CartsQuoteIdItems: (args: { cartItem: { sku: string } }) =>
        args.cartItem.sku.startsWith('needs-') ? [{ entity: 'carts', key: args.cartItem.sku.slice(6) }] : [],
    },
  });
  const routes = server.artifacts.routes;
  const registry = await loadPlugins({
    routes,
    pluginsDir: null,
    modules: [{ source: 'test/support/cart-consumer.ts', module: { default: plugin } }],
  });
  await runInstalls(server.db.pool, server.db.schema, registry.installs);
  const metrics = createMetrics({ pool: server.db.pool, schema: server.db.schema, bossSchema: server.db.bossSchema });
  const consumer = await startConsumer({
    pool: server.db.pool,
    boss: server.boss,
    schema: server.db.schema,
    registry: registry as unknown as OperationInvoker,
    queues: [...new Set(routes.map((r) => queueForEntity(r.entity)))],
    batchSize: 5,
    concurrency: 1,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    flushAfterMs: 50,
    log: { info() {}, warn() {}, error() {}, debug() {} },
    observe: (e) => metrics.processed(e),
    dependencies: { requiresOf: (operationId) => registry.requires.get(operationId), waitLimitSeconds: 3600 },
  });
  const heartbeat = await startHeartbeat({
    pool: server.db.pool,
    schema: server.db.schema,
    queues: [...new Set(routes.map((r) => queueForEntity(r.entity)))],
    handled: () => consumer.handled(),
    log: { info() {}, warn() {}, error() {}, debug() {} },
    intervalMs: 500,
  });
  return {
    consumer,
    metrics,
    steering,
    async stop() {
      await consumer.stop();
      await heartbeat.stop();
    },
  };
}
