/**
 * The bulk-level summary beyond Magento (CONTRACT §4): `bulk_status` and per-status counts, from
 * the trigger-kept counters, so they cost the same for 10 operations or 100,000.
 */
import type { BulkSummaryRow } from '../db/sql/status.ts';
import { isBulkFinished } from '../operations/finished.ts';

/** Magento's BulkSummaryInterface codes (source notes §5.4). */
export const NOT_STARTED = 0;
export const IN_PROGRESS = 1;
export const FINISHED_SUCCESSFULLY = 2;
export const FINISHED_WITH_FAILURE = 3;

/**
 * Unlike Magento's `BulkStatus::getBulkStatus` (#36911: open rows read as "finished with failure"):
 * - finished (src/operations/finished.ts) = no open operation and no status-2 operation with an
 *   automatic retry still coming; then 2 if nothing failed or was rejected, else 3;
 * - otherwise 1 once any operation finished or a worker picked one up (`running`: an open
 *   operation with `started_at`), else 0.
 * - a bulk with no operation rows is 0, as Magento's (`if ($allProcessedOperationsQty == 0) return
 *   NOT_STARTED`, Model/BulkStatus.php at 2.4.8): the bulk whose every item was rejected
 *   (operation_count 0, no rows) is "not started", though nothing of it will ever run
 *   ({@link isFinished} says so).
 * `operation_count` beyond the rows present (Magento-era fixtures, never our own accept path)
 * counts as open, so such a bulk reads "not started" as Magento's does.
 */
export function bulkStatus(row: BulkSummaryRow): number {
  if (rowsOf(row) === 0) return NOT_STARTED;
  if (isFinished(row)) {
    return row.retriable + row.failed + row.rejected === 0 ? FINISHED_SUCCESSFULLY : FINISHED_WITH_FAILURE;
  }
  if (row.complete + row.retriable + row.failed > 0 || row.running) return IN_PROGRESS;
  return NOT_STARTED;
}

const rowsOf = (row: BulkSummaryRow): number => row.complete + row.retriable + row.failed + row.open + row.rejected;

/**
 * Nothing of the bulk can run any more (long-polls answer, `bulk:status --watch` stops). Not the
 * same as `bulk_status >= 2`: a bulk with no operations at all is finished here and "not started"
 * in `bulk_status`, as in Magento.
 */
export function isFinished(row: BulkSummaryRow): boolean {
  const open = row.open + Math.max(0, row.operation_count - rowsOf(row));
  return isBulkFinished({ open, retrying: row.retrying });
}

/** The `operation_counts` object, in a fixed key order (status codes 1, 2, 3, 4, 5). */
export function operationCounts(row: BulkSummaryRow): Record<string, number> {
  return {
    complete: row.complete,
    retriably_failed: row.retriable,
    not_retriably_failed: row.failed,
    open: row.open,
    rejected: row.rejected,
  };
}
