/**
 * How operations map onto pg-boss queues. Magento binds every `async.#` topic to one queue,
 * `async.operations.all`; pg-boss fetches per queue, so we keep one queue per entity instead
 * (`async.products`): a consumer for one entity reads only its queue, and the all-consumer works
 * every entity queue of the route table.
 */
import { hash } from 'node:crypto';

export const ALL_OPERATIONS_CONSUMER = 'async.operations.all';

/**
 * Where pg-boss copies a job whose retries are exhausted (retriable failures past the limit, or a
 * worker that died on every attempt). A consumer closes the operation if it is still open, so none
 * stays status 4 with no job behind it.
 */
export const DEAD_LETTER_QUEUE = 'async.__dead_letter';

export function queueForEntity(entity: string): string {
  return `async.${entity}`;
}

/** Job payload: just the operation's address; everything else is read from the operation row. */
export interface OperationJob {
  bulk: string;
  key: number;
  /** How often delivery was put off because the operation was busy (held, or behind its key). */
  deferred?: number;
  /** Run in a transaction of its own: the batch transaction it last ran in could not commit. */
  alone?: boolean;
}

/**
 * Deterministic job id from the bulk uuid and the operation's index (a name-based, version-5
 * style uuid): a replayed accept can never enqueue the same operation twice, because pg-boss's
 * insert ignores ids it already has.
 */
export function jobIdFor(bulkUuid: string, key: number, reopened = 0): string {
  // `reopened` (how often the retry API reopened the operation) gives a reopened operation a new
  // job while keeping replays of the same reopening idempotent.
  // The one-shot hash(): an accept derives one id per operation, and a Hash object per call
  // cost twice as much.
  const h = hash('sha1', reopened === 0 ? `${bulkUuid}:${key}` : `${bulkUuid}:${key}:${reopened}`, 'buffer');
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Channel on which the database announces bulks that have nothing left to run (long-poll wake-up). */
export function bulkFinishedChannel(schema: string): string {
  return `${schema}_bulk_finished`;
}

/**
 * Id of the job of an automatic retry: the n-th run of the operation (as reopened so often) gets
 * one job however often its outcome is written, since pg-boss ignores ids it already has.
 */
export function retryJobIdFor(bulkUuid: string, key: number, reopened: number, run: number): string {
  return jobIdFor(`${bulkUuid}:${reopened}`, key, run);
}
