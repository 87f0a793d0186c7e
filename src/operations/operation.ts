/**
 * An operation as the lifecycle handles it: the columns a claim reads, its address, and the job
 * that delivered it. A pg-boss job is only a delivery; the truth is the operation row.
 */
import type { Job, JobAttempt } from 'pg-boss';
import type { OperationJob } from '../queue/names.ts';

/** Columns of a claimed operation. */
export interface OperationRow {
  bulk_uuid: string;
  operation_key: number;
  topic_name: string;
  operation_id: string;
  serialized_data: string | null;
  status: number;
  /** Runs recorded so far (the retry limit counts them). */
  attempts: number;
  /** `attempts` when the retry API last reopened it: the retry limit counts the runs since. */
  attempts_at_reopen: number;
  /** How often the retry API reopened it (part of its job ids). */
  reopened: number;
  /**
   * Whether it had a place in its entity key's order when claimed: only then can deliveries be put
   * off behind it (put-off.ts), so only then is there anything to wake when it ends.
   */
  keyed?: boolean;
  store_id: number;
  store_code: string | null;
  /** `addressOf(bulk_uuid, operation_key)`, made once (a batch looks a claim up by it often). */
  address?: string;
}

/** What one run of an operation came to. */
export interface Outcome {
  status: number;
  errorCode: number | null;
  message: string;
  result: string | null;
  /** A retriable failure's least retry delay, seconds (an upstream's `Retry-After`). */
  retryAfterSeconds?: number | undefined;
}

/** An operation's address as one string (map keys). */
export const addressOf = (bulk: string, key: number): string => `${bulk.toLowerCase()}:${key}`;

/** An operation row's address ({@link addressOf}), made once per row. */
export const rowAddress = (row: OperationRow): string => (row.address ??= addressOf(row.bulk_uuid, row.operation_key));

/** The delivery of a job, as pg-boss's complete and fail statements fence it. */
export const attemptOf = (job: Job<OperationJob>): JobAttempt => ({ id: job.id, retryCount: job.retryCount });

/** A delivery as one fencing token, `id:retry_count` (what claims.sql.ts `ATTEMPT_HOLDS` reads). */
export const attemptToken = (job: Job<OperationJob>): string => `${job.id}:${job.retryCount}`;
