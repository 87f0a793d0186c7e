/**
 * What "finished" means, the one definition every reader and writer uses.
 *
 * An operation is unfinished while it can still run: open (status 4), or retriably failed with an
 * automatic retry still coming (`will_retry`). Everything else is final, and only the retry API
 * reopens it. A bulk is finished when none of its operations is unfinished: its counters
 * (`bulk_counter`, kept by the triggers of 001_init.sql) show no `open` and no `retrying`.
 *
 * The triggers of the migrations spell the same predicates in SQL (a migration cannot import
 * this module); test/operations/finished.test.ts reads the installed trigger functions and fails
 * when they say anything else.
 */
import { STATUS_OPEN } from './status.ts';

/** SQL: operation row `o` is unfinished. */
export const unfinishedSql = (o: string): string => `(${o}.status = ${STATUS_OPEN} OR ${o}.will_retry)`;

/** SQL: operation row `n` is final (the negation of {@link unfinishedSql}, as the triggers write it). */
export const finalSql = (n: string): string => `${n}.status <> ${STATUS_OPEN} AND NOT ${n}.will_retry`;

/** SQL: over the rows `c` of one bulk's `bulk_counter` (grouped by bulk), the bulk is finished. */
export const bulkFinishedSql = (c: string): string => `sum(${c}.open) = 0 AND sum(${c}.retrying) = 0`;

/** SQL: over the rows `c` of one bulk's `bulk_counter`, the bulk has something unfinished. */
export const bulkUnfinishedSql = (c: string): string => `sum(${c}.open) + sum(${c}.retrying) > 0`;

/** Whether an operation can still run. */
export function isUnfinished(op: { status: number; will_retry: boolean }): boolean {
  return op.status === STATUS_OPEN || op.will_retry;
}

/** Whether a bulk is finished, from its summed counters (open operations, retries coming). */
export function isBulkFinished(counts: { open: number; retrying: number }): boolean {
  return counts.open === 0 && counts.retrying === 0;
}
