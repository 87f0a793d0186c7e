/**
 * Bulks in the states production reaches, reached the way production reaches them: accepted by
 * the real accept transaction (`AcceptCommitter`, jobs on the real pg-boss queue) and processed by
 * a real in-process consumer whose one test handler does what each operation's arguments say.
 * A test names the outcome it needs; it never writes a status, a flag or a message itself.
 */
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { AcceptCommitter, type BulkRow } from '../../src/accept/committer.ts';
import { serializedData } from '../../src/accept/data-hash.ts';
import { ident, type Pool } from '../../src/db/pool.ts';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/consumer.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import { OperationError, RetriableError, type HandlerContext } from '../../src/plugin.ts';
import type { Route } from '../../src/routes/types.ts';
import { mapInvoker } from '../consumer/invokers.ts';
import { waitFor } from './wait.ts';

/** What the handler does with one operation. */
export type Outcome =
  /** Succeeds, returning `result` (its result_serialized_data). */
  | { ok?: unknown }
  /** Fails for good (OperationError): status 3 with this message and code. */
  | { fail: string; code?: number }
  /**
   * Fails retriably (RetriableError): status 2, final once its runs are used up; with
   * `retryAfterSeconds` (an upstream's Retry-After) its automatic retry comes no sooner.
   */
  | { retry: string; code?: number; retryAfterSeconds?: number }
  /** Waits until the test calls `release(gate)`, then does `then` (default: succeeds). */
  | { gate: string; then?: Outcome }
  /**
   * One outcome per run: the first run, its automatic retries and the runs after the retry API
   * reopened it take the next one; the last one repeats.
   */
  | { runs: Outcome[] }
  /**
   * Rejected by accept (an invalid item under partialAccept): it gets no row and does not count in
   * operation_count, and its index is left out of the bulk's operation keys, as Magento does.
   */
  | { rejected: string };

export interface DriveOptions {
  /** Runs after the first for a retriable failure (default 0: the first failure is final). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /**
   * Jobs per fetch (default 1: an operation held at a gate then holds up no other one's outcome;
   * raise it for big bulks).
   */
  batchSize?: number;
  /** Queue of this driver's bulks; drivers of one database need different ones (default `driven`). */
  entity?: string;
  /** Handlers run at once (default 2); one more than the gates a test holds keeps the rest moving. */
  concurrency?: number;
  /**
   * The plugin name in `Service execution success <plugin>::<operationId>` (default `Test`);
   * Magento's fixtures name a PHP class, e.g. `Magento\Catalog\Model\ProductRepository\Interceptor`
   * with the operationId `save`.
   */
  plugin?: string;
}

export interface Driver {
  boss: PgBoss;
  /**
   * Accepts a bulk of these operations (key = index). An operation with `null` is never run: its
   * bulk goes to a queue no consumer reads, so the whole bulk stays open as accepted.
   */
  accept(bulk: AcceptSpec): Promise<string>;
  /** Lets the operations waiting at `gate` go on. */
  release(gate: string): void;
  /** Resolves once no operation of the bulk can run any more (none open, none with a retry). */
  settled(bulkUuid: string, timeoutMs?: number): Promise<void>;
  /** Resolves once at least `count` operations of the bulk have an outcome recorded (status not 4). */
  recorded(bulkUuid: string, count: number, timeoutMs?: number): Promise<void>;
  /**
   * Each operation's state, by key: its status, `+retry` with an automatic retry coming, then its
   * error code and message when it has one (`3 22 bad`), to wait for the state a test needs.
   */
  states(bulkUuid: string): Promise<string[]>;
  /** Resolves once the handler has started on the operations waiting at `gate` (`count` of them). */
  reached(gate: string, count?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface AcceptSpec {
  uuid?: string;
  userType?: number;
  userId?: number | null;
  description?: string;
  topic?: string;
  operationId?: string;
  /** Never processed: the bulk stays open (accepted, not yet picked up). */
  unprocessed?: boolean;
  /**
   * The time accept stamps as the bulk's start_time, `YYYY-MM-DD HH:MM:SS` in UTC (the accept
   * transaction's clock is the test's for this bulk); default the system's.
   */
  acceptedAt?: string;
  /**
   * One per operation: its outcome, and `args`, the operation's input (its serialized_data, built
   * as accept builds it; the handler's arguments).
   */
  operations: (Outcome & { args?: Record<string, unknown> })[];
}

export async function startDriver(
  db: { pool: Pool; url: string; schema: string; bossSchema: string },
  options: DriveOptions = {},
): Promise<Driver> {
  const ENTITY = options.entity ?? 'driven';
  const IDLE_ENTITY = `${ENTITY}_unconsumed`;
  const boss = await createBoss({ connectionString: db.url, schema: db.bossSchema });
  const retryLimit = options.retryLimit ?? 0;
  /** What the handler does with each accepted operation, by `<bulk uuid>:<key>`. */
  const outcomes = new Map<string, Outcome>();
  /** The accept transaction's clock: the system's, or the time a spec names while it is accepted. */
  let acceptedAt: Date | null = null;
  const retryDelay = options.retryDelaySeconds ?? 1;
  await ensureQueues(boss, [ENTITY, IDLE_ENTITY], {
    retryLimit,
    retryDelay,
    retryBackoff: false,
    heartbeatSeconds: null,
    // As long as a gate may hold an operation (the handler timeout below).
    expireInSeconds: 600,
  });
  const gates = new Map<string, { open: Promise<void>; release(): void; waiting: number }>();
  const gate = (name: string) => {
    let g = gates.get(name);
    if (!g) {
      let release!: () => void;
      const open = new Promise<void>((r) => (release = r));
      gates.set(name, (g = { open, release, waiting: 0 }));
    }
    return g;
  };
  /** Runs so far of each operation with `runs`. */
  const ran = new Map<string, number>();
  const act = async (outcome: Outcome, id: string): Promise<unknown> => {
    if ('runs' in outcome) {
      const n = ran.get(id) ?? 0;
      ran.set(id, n + 1);
      return act(outcome.runs[Math.min(n, outcome.runs.length - 1)]!, id);
    }
    if ('rejected' in outcome) throw new Error('a rejected item never runs');
    if ('gate' in outcome) {
      const g = gate(outcome.gate);
      g.waiting++;
      await g.open;
      return act(outcome.then ?? {}, id);
    }
    if ('fail' in outcome) throw new OperationError(outcome.fail, { code: outcome.code });
    if ('retry' in outcome) {
      throw new RetriableError(outcome.retry, { code: outcome.code, retryAfterSeconds: outcome.retryAfterSeconds });
    }
    return outcome.ok ?? null;
  };
  const consumer: ConsumerHandle = await startConsumer({
    pool: db.pool,
    boss,
    schema: db.schema,
    registry: mapInvoker(
      new Proxy(
        {},
        {
          get: () => (_args: unknown, ctx: HandlerContext) => {
            const id = `${ctx.operation.bulkUuid}:${ctx.operation.key}`;
            return act(outcomes.get(id) ?? {}, id);
          },
        },
      ),
      options.plugin ?? 'Test',
    ),
    queues: [`async.${ENTITY}`],
    batchSize: options.batchSize ?? 1,
    concurrency: options.concurrency ?? 2,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 0.5,
    // A gate may hold an operation for as long as a test needs (CLI runs on a loaded machine take
    // tens of seconds): the default handler timeout would fail it retriably under the test.
    policy: { retryLimit, retryDelaySeconds: retryDelay, retryBackoff: false, handlerTimeoutMs: 600_000 },
    log: { info() {}, warn() {}, error() {}, debug() {} },
  });
  const committer = new AcceptCommitter({
    pool: db.pool,
    schema: db.schema,
    enqueue: (client, jobs) => enqueueOperations(client, boss, jobs),
    idempotencyTtlSeconds: 60,
    groupCommit: false,
    clock: () => acceptedAt ?? new Date(),
  });
  return {
    boss,
    async accept(spec) {
      const uuid = spec.uuid ?? randomUUID();
      const topic = spec.topic ?? 'topic-5';
      const bulk: BulkRow = {
        uuid,
        userId: spec.userId === undefined ? 1 : spec.userId,
        userType: spec.userType ?? 2,
        description: spec.description ?? `Topic ${topic}`,
        storeId: 1,
        storeCode: null,
        requestId: null,
      };
      const route = {
        entity: spec.unprocessed ? IDLE_ENTITY : ENTITY,
        topic,
        operationId: spec.operationId ?? 'products.save',
      } as Route;
      const items = spec.operations.flatMap(({ args, ...outcome }, index) => {
        if ('rejected' in outcome) return [];
        outcomes.set(`${uuid}:${index}`, outcome);
        return [{ index, hash: '', serialized: serializedData(args ?? {}, 1) }];
      });
      // submit stamps the bulk's start_time from the clock before it returns to the event loop.
      acceptedAt = spec.acceptedAt ? new Date(`${spec.acceptedAt.replace(' ', 'T')}Z`) : null;
      const committed = committer.submit({ bulk, route, items });
      acceptedAt = null;
      await committed;
      return uuid;
    },
    release(name) {
      gate(name).release();
    },
    async settled(bulkUuid, timeoutMs = 15_000) {
      await waitFor(
        async () => {
          const { rows } = await db.pool.query<{ busy: number }>(
            `SELECT count(*)::int AS busy FROM ${ident(db.schema)}.operation
             WHERE bulk_uuid = $1 AND (status = 4 OR will_retry)`,
            [bulkUuid],
          );
          return rows[0]!.busy === 0;
        },
        timeoutMs,
        `bulk ${bulkUuid} to settle`,
      );
    },
    async recorded(bulkUuid, count, timeoutMs = 15_000) {
      await waitFor(
        async () => {
          const { rows } = await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1 AND status <> 4`,
            [bulkUuid],
          );
          return rows[0]!.n >= count;
        },
        timeoutMs,
        `${count} outcomes of bulk ${bulkUuid}`,
      );
    },
    async states(bulkUuid) {
      const { rows } = await db.pool.query<{ state: string }>(
        `SELECT concat_ws(' ', status || CASE WHEN will_retry THEN '+retry' ELSE '' END, error_code, result_message) AS state
         FROM ${ident(db.schema)}.operation WHERE bulk_uuid = $1 ORDER BY operation_key`,
        [bulkUuid],
      );
      return rows.map((r) => r.state);
    },
    async reached(name, count = 1, timeoutMs = 15_000) {
      await waitFor(async () => gate(name).waiting >= count, timeoutMs, `gate ${name}`);
    },
    async close() {
      for (const g of gates.values()) g.release();
      await consumer.stop();
      await committer.drain();
      await boss.stop({ graceful: false });
    },
  };
}
