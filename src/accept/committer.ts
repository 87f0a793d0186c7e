/**
 * The accept transaction with group commit. Every accepted request writes its bulk row, all its
 * operation rows and all its queue jobs in ONE transaction (CONTRACT §2: all or nothing), and its
 * response is sent only after that transaction committed.
 *
 * Group commit: at most `maxConcurrentGroups` grouped transactions run at once. A request arriving
 * while a slot is free is committed at once (with whatever arrived in the same event-loop turn);
 * requests arriving while every slot is busy queue up and share the next transaction, flushed the
 * moment a running one finishes. Under load the groups grow by themselves and the commit rate stays
 * at what the database does per fsync; idle, a request waits for nobody. A group that reaches
 * `maxGroupOperations` (a big bulk) is flushed at once and does not take a slot: it has nothing to
 * gain from company and must not queue behind other bulks.
 */
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { AcceptedItem } from './prepare.ts';
import {
  claimIdempotencyKeys,
  insertBulks,
  insertOperations,
  operationInsertParams,
  type OperationRows,
} from '../db/sql/accept.ts';
import { insertWebhooks } from '../db/sql/webhooks.ts';

export interface BulkRow {
  uuid: string;
  userId: number | null;
  userType: number;
  description: string;
  storeId: number;
  storeCode: string | null;
  requestId: string | null;
  /** Completion webhook destination (src/webhooks), registered in the same transaction. */
  callbackUrl?: string | null;
}

export interface IdempotencyClaim {
  key: string;
  requestHash: Buffer;
  responseStatus: number;
  responseBody: string;
}

export interface AcceptJob {
  bulk: BulkRow;
  route: Route;
  items: AcceptedItem[];
  idempotency?: IdempotencyClaim;
}

export type AcceptOutcome = { kind: 'committed' } | { kind: 'idempotency-conflict' };

export interface QueueJob {
  entity: string;
  bulkUuid: string;
  key: number;
}

/** Inserts the queue jobs on the given client, inside the caller's transaction. */
export type Enqueue = (client: pg.PoolClient, jobs: QueueJob[]) => Promise<void>;

export interface CommitterOptions {
  pool: pg.Pool;
  schema: string;
  enqueue: Enqueue;
  idempotencyTtlSeconds: number;
  /** False: every request commits on its own, at once (the one-commit-per-request baseline). */
  groupCommit: boolean;
  /** Grouped transactions in flight at once (default 2: one committing while the next one writes). */
  maxConcurrentGroups?: number;
  /** A group is flushed at once, without a slot, once it holds this many operations (default 1000). */
  maxGroupOperations?: number;
  /** Test hook: runs between the operation insert and the job insert (fault injection). */
  afterOperationInsert?: (client: pg.PoolClient) => Promise<void>;
}

interface Pending {
  job: AcceptJob;
  resolve: (outcome: AcceptOutcome) => void;
  reject: (error: unknown) => void;
}

export class AcceptCommitter {
  readonly #options: CommitterOptions;
  #group: Pending[] = [];
  #groupOperations = 0;
  /** Grouped transactions running (big groups and solo retries are not counted). */
  #running = 0;
  #scheduled = false;
  #inFlight = new Set<Promise<void>>();

  constructor(options: CommitterOptions) {
    this.#options = options;
  }

  submit(job: AcceptJob): Promise<AcceptOutcome> {
    return new Promise((resolve, reject) => {
      this.#group.push({ job, resolve, reject });
      this.#groupOperations += job.items.length;
      if (!this.#options.groupCommit || this.#groupOperations >= (this.#options.maxGroupOperations ?? 1000)) {
        this.#flush(false);
      } else {
        this.#schedule();
      }
    });
  }

  /** Waits for every transaction under way (server shutdown). */
  async drain(): Promise<void> {
    this.#flush(false);
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
      this.#flush(false);
    }
  }

  /** Flushes the group on the next turn if a slot is free; otherwise a finishing transaction will. */
  #schedule(): void {
    if (this.#scheduled || this.#running >= (this.#options.maxConcurrentGroups ?? 2)) return;
    this.#scheduled = true;
    // setImmediate, not a timer: requests whose bodies were read in the same I/O phase join in.
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#running < (this.#options.maxConcurrentGroups ?? 2)) this.#flush(true);
    });
  }

  #flush(slotted: boolean): void {
    const group = this.#group;
    if (group.length === 0) return;
    this.#group = [];
    this.#groupOperations = 0;
    if (slotted) this.#running++;
    const run = this.#commit(group).finally(() => {
      this.#inFlight.delete(run);
      if (slotted) {
        this.#running--;
        if (this.#group.length > 0) this.#schedule();
      }
    });
    this.#inFlight.add(run);
  }

  async #commit(group: Pending[]): Promise<void> {
    const { pool } = this.#options;
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      await client.query('BEGIN');
      const conflicts = await this.#claimKeys(client, group);
      const proceeding = group.filter((p) => !conflicts.has(p));
      await this.#insert(
        client,
        proceeding.map((p) => p.job),
      );
      await client.query('COMMIT');
      for (const p of group) p.resolve(conflicts.has(p) ? { kind: 'idempotency-conflict' } : { kind: 'committed' });
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => {});
      if (group.length === 1) {
        group[0]!.reject(error);
      } else {
        // One bad request must not fail the others it happened to share a transaction with:
        // retry each on its own so only the culprit sees the error.
        for (const p of group) this.#commitAlone(p);
      }
    } finally {
      client?.release();
    }
  }

  #commitAlone(pending: Pending): void {
    const run = this.#commit([pending]).finally(() => this.#inFlight.delete(run));
    this.#inFlight.add(run);
  }

  async #claimKeys(client: pg.PoolClient, group: Pending[]): Promise<Set<Pending>> {
    const keyOf = (p: Pending) =>
      `${p.job.bulk.userType}\u0000${p.job.bulk.userId ?? 0}\u0000${p.job.idempotency!.key}`;
    // Two requests with the same key in one group: the first one claims it, as if it came first,
    // and the others lose without being sent (one INSERT … ON CONFLICT DO UPDATE may not touch a
    // row twice: PostgreSQL would fail the whole group with 21000).
    const first = new Map<string, Pending>();
    const lost = new Set<Pending>();
    for (const p of group) {
      if (!p.job.idempotency) continue;
      const k = keyOf(p);
      if (first.has(k)) lost.add(p);
      else first.set(k, p);
    }
    const claiming = [...first.values()];
    if (claiming.length === 0) return lost;
    const { rows } = await client.query<{ user_type: number; user_id: number; key: string }>(
      claimIdempotencyKeys(this.#options.schema),
      [
        claiming.map((p) => p.job.bulk.userType),
        claiming.map((p) => p.job.bulk.userId ?? 0),
        claiming.map((p) => p.job.idempotency!.key),
        claiming.map((p) => p.job.idempotency!.requestHash),
        claiming.map((p) => p.job.idempotency!.responseStatus),
        claiming.map((p) => p.job.idempotency!.responseBody),
        claiming.map((p) => p.job.bulk.uuid),
        this.#options.idempotencyTtlSeconds,
      ],
    );
    const won = new Set(rows.map((r) => `${r.user_type}\u0000${r.user_id}\u0000${r.key}`));
    for (const [k, p] of first) if (!won.has(k)) lost.add(p);
    return lost;
  }

  async #insert(client: pg.PoolClient, jobs: AcceptJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const { schema } = this.#options;
    await client.query(insertBulks(schema), [
      jobs.map((j) => j.bulk.uuid),
      jobs.map((j) => j.bulk.userId),
      jobs.map((j) => j.bulk.userType),
      jobs.map((j) => j.bulk.description),
      jobs.map((j) => j.items.length),
      jobs.map((j) => j.bulk.storeId),
      jobs.map((j) => j.bulk.storeCode),
      jobs.map((j) => j.bulk.requestId),
    ]);
    const hooked = jobs.filter((j) => j.bulk.callbackUrl);
    if (hooked.length > 0) {
      await client.query(insertWebhooks(schema), [
        hooked.map((j) => j.bulk.uuid),
        hooked.map((j) => j.bulk.callbackUrl),
      ]);
    }
    const rows: OperationRows[] = [];
    const queueJobs: QueueJob[] = [];
    for (const job of jobs) {
      if (job.items.length === 0) continue;
      const keys: number[] = [];
      const serialized: string[] = [];
      for (const item of job.items) {
        keys.push(item.index);
        serialized.push(item.serialized);
        queueJobs.push({ entity: job.route.entity, bulkUuid: job.bulk.uuid, key: item.index });
      }
      rows.push({
        bulkUuid: job.bulk.uuid,
        topic: job.route.topic,
        operationId: job.route.operationId,
        keys,
        serialized,
      });
    }
    if (rows.length === 0) return;
    await client.query(insertOperations(schema), operationInsertParams(rows));
    await this.#options.afterOperationInsert?.(client);
    await this.#options.enqueue(client, queueJobs);
  }
}
