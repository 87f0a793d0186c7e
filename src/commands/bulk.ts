/**
 * `magento-async bulk:status <uuid> [--watch]`: reads the same O(1) counters as the status API,
 * straight from the database (the one every operator command uses, src/runtime/instance.ts):
 * no server, token or URL to get right, and it works while the server is down. With --watch it
 * redraws a progress bar on stderr (TTY) until the bulk finishes, then prints a summary on stdout.
 * Exit code 0 when every operation succeeded, 1 otherwise (failures, unfinished, unknown bulk).
 */
import { loadConfig } from '../config.ts';
import { commandClient, endCommandClient } from '../runtime/instance.ts';
import { selectBulkSummary, type BulkSummaryRow } from '../db/sql/status.ts';
import { bulkStatus, FINISHED_SUCCESSFULLY, isFinished } from '../status/summary.ts';
import { isUuid } from '../status/search-criteria.ts';

const LABELS = ['Not Started', 'In Progress', 'Finished Successfully', 'Finished with Failure'];

export interface Progress {
  done: number;
  failed: number;
  open: number;
  total: number;
}

export function progressOf(row: BulkSummaryRow): Progress {
  const failed = row.retriable + row.failed + row.rejected;
  const rows = row.complete + failed + row.open;
  const total = Math.max(row.operation_count, rows);
  return { done: row.complete, failed, open: total - row.complete - failed, total };
}

/** `[#########-----------]  45.0%  done 4500  failed 12  open 5488  350/s  ETA 15s` */
export function progressLine(p: Progress, ratePerSecond: number | null, width = 30): string {
  const finished = p.done + p.failed;
  const fraction = p.total === 0 ? 1 : finished / p.total;
  const filled = Math.round(fraction * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const rate = ratePerSecond === null ? '–/s' : `${ratePerSecond.toFixed(ratePerSecond < 10 ? 1 : 0)}/s`;
  const eta =
    ratePerSecond && ratePerSecond > 0 && p.open > 0 ? `ETA ${formatDuration(p.open / ratePerSecond)}` : 'ETA –';
  return `[${bar}] ${(fraction * 100).toFixed(1).padStart(5)}%  done ${p.done}  failed ${p.failed}  open ${p.open}  ${rate}  ${eta}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function summaryText(row: BulkSummaryRow): string {
  const status = bulkStatus(row);
  return [
    `Bulk ${row.bulk_id}: ${LABELS[status]} (bulk_status ${status})`,
    `  description  ${row.description ?? ''}`,
    `  started      ${row.start_time} UTC`,
    `  operations   ${row.operation_count}`,
    `  complete     ${row.complete}`,
    `  retriable    ${row.retriable}${row.retrying > 0 ? ` (${row.retrying} with a retry coming)` : ''}`,
    `  failed       ${row.failed}`,
    `  open         ${row.open}`,
    `  rejected     ${row.rejected}`,
  ].join('\n');
}

export async function bulkStatusCommand(
  uuid: string,
  opts: { watch?: boolean; interval: number; json?: boolean },
): Promise<void> {
  if (!isUuid(uuid)) throw new Error(`Bulk uuid ${uuid} not exist`);
  // One connection, and its first query is the read: a finished bulk costs one round trip.
  const { config, client } = await commandClient(loadConfig({ env: process.env }));
  const tty = process.stderr.isTTY === true;
  try {
    const read = async () => (await client.query<BulkSummaryRow>(selectBulkSummary(config.schema), [uuid])).rows[0];
    let row = await read();
    if (!row) throw new Error(`Bulk uuid ${uuid} not exist`);
    if (opts.watch) {
      // Rate over a sliding window of samples, so the ETA follows the current pace.
      const samples: { t: number; finished: number }[] = [];
      let stop = false;
      const onSigint = () => {
        stop = true;
      };
      process.once('SIGINT', onSigint);
      try {
        for (;;) {
          const p = progressOf(row);
          const now = Date.now();
          samples.push({ t: now, finished: p.done + p.failed });
          while (samples.length > 2 && now - samples[0]!.t > 30_000) samples.shift();
          const first = samples[0]!;
          const rate = now - first.t >= 500 ? ((p.done + p.failed - first.finished) * 1000) / (now - first.t) : null;
          const line = progressLine(p, rate);
          if (tty) process.stderr.write(`\r\x1b[2K${line}`);
          else if (samples.length === 1 || isFinished(row)) process.stderr.write(`${line}\n`);
          if (isFinished(row) || stop) break;
          await new Promise((r) => setTimeout(r, opts.interval));
          row = (await read()) ?? row;
        }
      } finally {
        process.off('SIGINT', onSigint);
        if (tty) process.stderr.write('\n');
      }
    }
    const status = bulkStatus(row);
    if (opts.json) {
      process.stdout.write(
        JSON.stringify({
          bulk_id: row.bulk_id,
          bulk_status: status,
          operation_count: row.operation_count,
          complete: row.complete,
          retriably_failed: row.retriable,
          not_retriably_failed: row.failed,
          open: row.open,
          rejected: row.rejected,
        }) + '\n',
      );
    } else process.stdout.write(summaryText(row) + '\n');
    process.exitCode = status === FINISHED_SUCCESSFULLY ? 0 : 1;
  } finally {
    await endCommandClient(client);
  }
}
