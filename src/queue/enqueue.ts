/**
 * Enqueues operation jobs inside the caller's transaction (the accept transaction), so the bulk,
 * its operations and their jobs commit or vanish together.
 */
import type { PgBoss } from 'pg-boss';
import { bossDb, type SqlClient } from './adapter.ts';
import { jobIdFor, queueForEntity, type OperationJob } from './names.ts';

export interface OperationToEnqueue {
  entity: string;
  bulkUuid: string;
  key: number;
  /** How often the retry API reopened the operation (0 at accept): a reopened one gets a new job. */
  reopened?: number;
}

/**
 * One `insert` statement per entity queue. Ids are derived from (bulk, key), and pg-boss inserts
 * with ON CONFLICT DO NOTHING, so enqueuing an operation twice leaves one job.
 */
export async function enqueueOperations(
  db: SqlClient,
  boss: PgBoss,
  jobs: readonly OperationToEnqueue[],
): Promise<void> {
  const byQueue = new Map<string, Map<string, { id: string; data: OperationJob }>>();
  for (const job of jobs) {
    const queue = queueForEntity(job.entity);
    let group = byQueue.get(queue);
    if (!group) byQueue.set(queue, (group = new Map()));
    const id = jobIdFor(job.bulkUuid, job.key, job.reopened ?? 0);
    // pg-boss rejects a batch that names one id twice; the second would be a no-op anyway.
    group.set(id, { id, data: { bulk: job.bulkUuid, key: job.key } });
  }
  const adapter = bossDb(db);
  for (const [queue, group] of byQueue) {
    await boss.insert(queue, [...group.values()], { db: adapter });
  }
}
