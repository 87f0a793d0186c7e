/**
 * `job_operation`: pg-boss's live jobs by the operation they deliver (their payload's bulk and
 * key). A claim is the delivering job itself (src/operations/claims.sql.ts), so "is this operation
 * held", "has it a job" (cancel, the retry API, the sweeper, dead letters) are looks at the job
 * table by operation: with this index each is a probe, whatever the table holds. Partial (live jobs
 * only), so the completed history costs it nothing; a job enters it when inserted and again when
 * fetched (a state change is a new row version), and leaves it when completed.
 *
 * pg-boss knows nothing of it. Created on the partitioned `job` table, every queue's partition gets
 * it (pg-boss attaches new partitions, and PostgreSQL builds the index of an attached partition).
 * One process creates it, under an advisory lock; the others find it made.
 */
import { ident } from '../db/pool.ts';

export const JOB_OPERATION_INDEX = 'job_operation';

export function createJobOperationIndex(bossSchema: string): string {
  const b = ident(bossSchema);
  const index = `${b}.${JOB_OPERATION_INDEX}`;
  const lock = `hashtext('magento-async:job_operation:' || ${quote(bossSchema)})`;
  return `DO $$ BEGIN
    IF to_regclass(${quote(index)}) IS NULL THEN
      PERFORM pg_advisory_xact_lock(${lock});
      CREATE INDEX IF NOT EXISTS ${JOB_OPERATION_INDEX} ON ${b}.job ((data->>'bulk'), (data->>'key'))
        WHERE state < 'completed';
    END IF;
  END $$`;
}

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;
