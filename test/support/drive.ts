/**
 * Bulks in the states production reaches, reached the way production reaches them: accepted by
 * the real accept transaction (`AcceptCommitter`, jobs on the real pg-boss queue) and processed by
 * a real in-process consumer whose one test handler does what each operation's arguments say.
 * A test names the outcome it needs; it never writes a status, a flag or a message itself.
 */
import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { AcceptCommitter, type BulkRow } from '../../src/accept/committer.ts';
import { ident, type Pool } from '../../src/db/pool.ts';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/consumer.ts';
import { createBoss, ensureQueues } from '../../src/queue/boss.ts';
import { enqueueOperations } from '../../src/queue/enqueue.ts';
import { OperationError, RetriableError } from '../../src/plugin.ts';
import type { Route } from '../../src/routes/types.ts';
import { mapInvoker } from '../consumer/invokers.ts';
import { waitFor } from './wait.ts';

/** What the handler does with one operation. */
export type Outcome =
  /** Succeeds, returning `result` (its result_serialized_data). */
  | { ok?: unknown }
  /** Fails for good (OperationError): status 3 with this message and code. */
  | { fail: string; code?: number }
  /** Fails retriably (RetriableError) on every run: status 2, final once its runs are used up. */
  | { retry: string; code?: number }
  /** Waits until the test calls `release(gate)`, then does `then` (default: succeeds). */
  | { gate: string; then?: Outcome };

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
  /** One per operation; what the handler receives as its arguments. */
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
  const retryDelay = options.retryDelaySeconds ?? 1;
  await ensureQueues(boss, [ENTITY, IDLE_ENTITY], {
    retryLimit,
    retryDelay,
    retryBackoff: false,
    heartbeatSeconds: null,
    expireInSeconds: 30,
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
  const act = async (outcome: Outcome): Promise<unknown> => {
    if ('gate' in outcome) {
      const g = gate(outcome.gate);
      g.waiting++;
      await g.open;
      return act(outcome.then ?? {});
    }
    if ('fail' in outcome) throw new OperationError(outcome.fail, { code: outcome.code });
    if ('retry' in outcome) throw new RetriableError(outcome.retry, { code: outcome.code });
    return outcome.ok ?? null;
  };
  const consumer: ConsumerHandle = await startConsumer({
    pool: db.pool,
    boss,
    schema: db.schema,
    // The handler name in "Service execution success <handler>" is the operationId.
    registry: mapInvoker(new Proxy({}, { get: () => (args: { outcome: Outcome }) => act(args.outcome) }), 'Test'),
    queues: [`async.${ENTITY}`],
    batchSize: options.batchSize ?? 1,
    concurrency: 2,
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
      const items = spec.operations.map(({ args, ...outcome }, index) => ({
        index,
        hash: '',
        serialized: JSON.stringify({
          entity_id: null,
          entity_link: '',
          meta_information: JSON.stringify({ ...args, outcome }),
          store_id: '1',
        }),
      }));
      await committer.submit({ bulk, route, items });
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
