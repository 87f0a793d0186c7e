/**
 * The accept transaction with group commit. Every accepted request writes its bulk row, all its
 * operation rows and all its queue jobs in ONE transaction (CONTRACT §2: all or nothing). Requests
 * that arrive while a transaction is being prepared or committed wait a millisecond or two and
 * share the next one, so single-item requests are not each paying for an fsync.
 */
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { AcceptedItem } from './prepare.ts';
import { claimIdempotencyKeys, insertBulks, insertOperations } from '../db/sql/accept.ts';

export interface BulkRow {
  uuid: string;
  userId: number | null;
  userType: number;
  description: string;
  storeId: number;
  storeCode: string | null;
  requestId: string | null;
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
  /** How long the first request of a group waits for company; 0 commits each request alone. */
  windowMs: number;
  /** A group is flushed early once it holds this many operations. */
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
  #timer: NodeJS.Timeout | null = null;
  #inFlight = new Set<Promise<void>>();

  constructor(options: CommitterOptions) {
    this.#options = options;
  }

  submit(job: AcceptJob): Promise<AcceptOutcome> {
    return new Promise((resolve, reject) => {
      this.#group.push({ job, resolve, reject });
      this.#groupOperations += job.items.length;
      const max = this.#options.maxGroupOperations ?? 2000;
      if (this.#options.windowMs <= 0 || this.#groupOperations >= max) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#options.windowMs);
    });
  }

  /** Waits for every transaction under way (server shutdown). */
  async drain(): Promise<void> {
    this.#flush();
    await Promise.allSettled([...this.#inFlight]);
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const group = this.#group;
    if (group.length === 0) return;
    this.#group = [];
    this.#groupOperations = 0;
    const run = this.#commit(group).finally(() => this.#inFlight.delete(run));
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
    const claiming = group.filter((p) => p.job.idempotency);
    if (claiming.length === 0) return new Set();
    const keyOf = (userType: number, userId: number, key: string) => `${userType}\u0000${userId}\u0000${key}`;
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
    const won = new Set(rows.map((r) => keyOf(r.user_type, r.user_id, r.key)));
    const lost = new Set<Pending>();
    const seen = new Set<string>();
    for (const p of claiming) {
      const k = keyOf(p.job.bulk.userType, p.job.bulk.userId ?? 0, p.job.idempotency!.key);
      // Two requests with the same key in one group: the first one wins, as if it came first.
      if (!won.has(k) || seen.has(k)) lost.add(p);
      seen.add(k);
    }
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
    const uuids: string[] = [];
    const keys: number[] = [];
    const topics: string[] = [];
    const operationIds: string[] = [];
    const data: string[] = [];
    const queueJobs: QueueJob[] = [];
    for (const job of jobs) {
      for (const item of job.items) {
        uuids.push(job.bulk.uuid);
        keys.push(item.index);
        topics.push(job.route.topic);
        operationIds.push(job.route.operationId);
        data.push(item.serialized);
        queueJobs.push({ entity: job.route.entity, bulkUuid: job.bulk.uuid, key: item.index });
      }
    }
    if (uuids.length === 0) return;
    await client.query(insertOperations(schema), [uuids, keys, topics, operationIds, data]);
    await this.#options.afterOperationInsert?.(client);
    await this.#options.enqueue(client, queueJobs);
  }
}
