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
 *
 * One round trip: a group's bulks, webhooks, operations and jobs are one prepared statement
 * (`insertAccepted`) that is its own transaction, where BEGIN, four statements and COMMIT cost six
 * round trips and a parse of each (on a 2-core machine shared with PostgreSQL, every round trip is
 * also a wake-up of each side). A group with Idempotency-Keys claims them first, so it still runs
 * in an explicit transaction: BEGIN, the claim, the same statement, COMMIT. When pg-boss's insert
 * is not of the shape the statement embeds (src/queue/job-insert.ts), the jobs go through
 * `enqueue` (pg-boss's `insert`) inside an explicit transaction instead.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Route } from '../routes/types.ts';
import type { AcceptedItem } from './prepare.ts';
import {
  claimIdempotencyKeys,
  insertAccepted,
  insertBulks,
  insertOperations,
  operationInsertParams,
  type JobInsertPart,
  type OperationRows,
} from '../db/sql/accept.ts';
import { insertWebhooks } from '../db/sql/webhooks.ts';
import { utcTimestamp, type Clock } from '../kernel/clock.ts';

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
  /**
   * When it was accepted (the bulk's `start_time`): stamped by `submit` from the committer's clock
   * when it has one; without, the database stamps it (`now()` of the accept transaction).
   */
  acceptedAt?: Date;
}

export type AcceptOutcome = { kind: 'committed' } | { kind: 'idempotency-conflict' };

export interface QueueJob {
  entity: string;
  bulkUuid: string;
  key: number;
}

/** Inserts the queue jobs on the given client, inside the caller's transaction. */
export type Enqueue = (client: pg.PoolClient, jobs: QueueJob[]) => Promise<void>;

/** How the jobs of one entity's operations are written as part of the accept statement. */
export interface JobStatements {
  /** The entity's queue insert to embed, or null: write its jobs with `enqueue` instead. */
  part(entity: string): Promise<JobInsertPart | null>;
  /** The JSON parameter of a part: the jobs of the given operations. */
  payload(jobs: readonly QueueJob[]): string;
  /** Called after a failed statement: the parts of these entities are read again next time. */
  forget(entity: string): void;
}

export interface CommitterOptions {
  pool: pg.Pool;
  schema: string;
  enqueue: Enqueue;
  /** Jobs written inside the accept statement (absent: every group uses `enqueue`). */
  jobStatements?: JobStatements;
  idempotencyTtlSeconds: number;
  /** False: every request commits on its own, at once (the one-commit-per-request baseline). */
  groupCommit: boolean;
  /** Grouped transactions in flight at once (default 2: one committing while the next one writes). */
  maxConcurrentGroups?: number;
  /** A group is flushed at once, without a slot, once it holds this many operations (default 1000). */
  maxGroupOperations?: number;
  /** Test hook: runs inside the transaction after every write, before COMMIT (fault injection). */
  beforeCommit?: (client: pg.PoolClient) => Promise<void>;
  /**
   * What stamps each bulk's `start_time`: tests set it to the times Magento's fixtures name.
   * Default: the database's clock, as Magento's `start_time DEFAULT CURRENT_TIMESTAMP`, the one
   * clock every other time of a bulk and its operations is read from (an application host's clock
   * ahead of the database's would put start_time after its operations' finished_at).
   */
  clock?: Clock;
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
    const clock = this.#options.clock;
    if (clock && !job.acceptedAt) job = { ...job, acceptedAt: clock() };
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
    let entities: string[] = [];
    let transaction = false;
    try {
      const jobs = group.map((p) => p.job);
      entities = [...new Set(jobs.filter((j) => j.items.length > 0).map((j) => j.route.entity))];
      const parts = await this.#parts(entities);
      const claims = group.some((p) => p.job.idempotency);
      client = await pool.connect();
      if (!claims && parts && !this.#options.beforeCommit) {
        // The common case: one statement, its own transaction, committed when it returns.
        await this.#insertAll(client, jobs, parts);
        for (const p of group) p.resolve({ kind: 'committed' });
        return;
      }
      transaction = true;
      await client.query('BEGIN');
      const conflicts = claims ? await this.#claimKeys(client, group) : new Set<Pending>();
      const proceeding = group.filter((p) => !conflicts.has(p)).map((p) => p.job);
      if (proceeding.length > 0) {
        if (parts) await this.#insertAll(client, proceeding, parts);
        else await this.#insertEach(client, proceeding);
      }
      await this.#options.beforeCommit?.(client);
      await client.query('COMMIT');
      for (const p of group) p.resolve(conflicts.has(p) ? { kind: 'idempotency-conflict' } : { kind: 'committed' });
    } catch (error) {
      if (transaction) await client?.query('ROLLBACK').catch(() => {});
      // A queue deleted or moved to another table since its insert was read: read it again.
      for (const entity of entities) this.#options.jobStatements?.forget(entity);
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

  /** The embedded job insert of every entity, or null when one of them has none (use `enqueue`). */
  async #parts(entities: readonly string[]): Promise<Map<string, JobInsertPart> | null> {
    const statements = this.#options.jobStatements;
    if (!statements) return null;
    const parts = new Map<string, JobInsertPart>();
    for (const entity of entities) {
      const part = await statements.part(entity);
      if (!part) return null;
      parts.set(entity, part);
    }
    return parts;
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

  /** Every write of `jobs` as one `insertAccepted` statement. */
  async #insertAll(client: pg.PoolClient, jobs: AcceptJob[], parts: Map<string, JobInsertPart>): Promise<void> {
    const { schema, jobStatements } = this.#options;
    const { rows, byEntity } = operationRowsOf(jobs);
    const hooked = jobs.filter((j) => j.bulk.callbackUrl);
    const entities = [...byEntity.keys()];
    const text = insertAccepted(schema, { webhooks: hooked.length > 0, queues: entities.map((e) => parts.get(e)!) });
    const values: unknown[] = bulkParams(jobs);
    if (hooked.length > 0) values.push(...webhookParams(hooked));
    values.push(...operationInsertParams(rows));
    for (const entity of entities) values.push(jobStatements!.payload(byEntity.get(entity)!));
    await client.query(prepared(text, values));
  }

  /** The writes as separate statements, the jobs through pg-boss's own insert (`enqueue`). */
  async #insertEach(client: pg.PoolClient, jobs: AcceptJob[]): Promise<void> {
    const { schema } = this.#options;
    await client.query(insertBulks(schema), bulkParams(jobs));
    const hooked = jobs.filter((j) => j.bulk.callbackUrl);
    if (hooked.length > 0) await client.query(insertWebhooks(schema), webhookParams(hooked));
    const { rows, byEntity } = operationRowsOf(jobs);
    if (rows.length === 0) return;
    await client.query(insertOperations(schema), operationInsertParams(rows));
    await this.#options.enqueue(client, [...byEntity.values()].flat());
  }
}

function bulkParams(jobs: readonly AcceptJob[]): unknown[] {
  return [
    jobs.map((j) => j.bulk.uuid),
    jobs.map((j) => j.bulk.userId),
    jobs.map((j) => j.bulk.userType),
    jobs.map((j) => j.bulk.description),
    jobs.map((j) => j.items.length),
    jobs.map((j) => j.bulk.storeId),
    jobs.map((j) => j.bulk.storeCode),
    jobs.map((j) => j.bulk.requestId),
    jobs.map((j) => (j.acceptedAt ? utcTimestamp(j.acceptedAt) : null)),
  ];
}

function webhookParams(hooked: readonly AcceptJob[]): unknown[] {
  return [hooked.map((j) => j.bulk.uuid), hooked.map((j) => j.bulk.callbackUrl)];
}

/** The operation rows of a group and its queue jobs by entity (requests without items add none). */
function operationRowsOf(jobs: readonly AcceptJob[]): { rows: OperationRows[]; byEntity: Map<string, QueueJob[]> } {
  const rows: OperationRows[] = [];
  const byEntity = new Map<string, QueueJob[]>();
  for (const job of jobs) {
    if (job.items.length === 0) continue;
    const entity = job.route.entity;
    let queueJobs = byEntity.get(entity);
    if (!queueJobs) byEntity.set(entity, (queueJobs = []));
    const keys: number[] = [];
    const serialized: string[] = [];
    for (const item of job.items) {
      keys.push(item.index);
      serialized.push(item.serialized);
      queueJobs.push({ entity, bulkUuid: job.bulk.uuid, key: item.index });
    }
    rows.push({
      bulkUuid: job.bulk.uuid,
      topic: job.route.topic,
      operationId: job.route.operationId,
      keys,
      serialized,
    });
  }
  return { rows, byEntity };
}

/**
 * The statement as a named (prepared) query: each connection parses and plans it once instead of
 * at every accept. Its text varies only with the schema, the set of queues in a group and whether
 * it has webhooks, so the names stay few; past `MAX_PREPARED` distinct texts (groups mixing many
 * entities) the rest run unnamed rather than growing every connection's statement cache.
 */
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED) {
    name = `accept_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    preparedNames.set(text, name);
  }
  return name === undefined ? { text, values } : { name, text, values };
}

const MAX_PREPARED = 64;
const preparedNames = new Map<string, string>();
