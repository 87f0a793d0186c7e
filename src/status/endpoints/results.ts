/** GET /V1/bulk/:uuid/results.ndjson (CONTRACT §4): one line per operation, streamed in keyset batches. */
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import * as sql from '../../db/sql/status.ts';
import { checkBulk, type Access } from '../access.ts';
import { selectOwner } from '../queries.ts';
import type { StatusContext } from '../context.ts';

interface ResultRow {
  id: number;
  status: number;
  result_serialized_data: string | null;
  result_message: string | null;
  error_code: number | null;
}

export async function resultsEndpoint(sc: StatusContext, ctx: Context, a: Access, uuid: string): Promise<void> {
  const { pool, schema, log } = sc;
  checkBulk(a, uuid, await selectOwner(pool, schema, uuid));
  const batch = sc.limits.resultsBatchSize;
  // Keyset batches on the primary key: the bulk is never held in memory, and Readable.from
  // pulls the next batch only when the socket drained the previous one (backpressure).
  async function* lines(): AsyncGenerator<string> {
    let last = -1;
    for (;;) {
      const { rows } = await pool.query<ResultRow>(sql.selectResultsBatch(schema), [uuid, last, batch]);
      if (rows.length === 0) return;
      let chunk = '';
      for (const r of rows) chunk += resultLine(r) + '\n';
      yield chunk;
      last = rows[rows.length - 1]!.id;
      if (rows.length < batch) return;
    }
  }
  const stream = Readable.from(lines(), { objectMode: false });
  stream.on('error', (error) => log.error({ err: error, bulkUuid: uuid }, 'results.ndjson stream failed'));
  ctx.status = 200;
  ctx.set('Content-Type', 'application/x-ndjson; charset=utf-8');
  ctx.body = stream;
}

/** One results.ndjson line: `{"id","status","result","error"}`. */
export function resultLine(r: ResultRow): string {
  let result = 'null';
  const raw = r.result_serialized_data;
  if (raw !== null) {
    try {
      const parsed: unknown = JSON.parse(raw);
      // The stored JSON as is (keeps big numbers exact) unless a raw line break would split the line.
      result = /[\r\n\u2028\u2029]/.test(raw) ? JSON.stringify(parsed) : raw.trim();
    } catch {
      result = JSON.stringify(raw);
    }
  }
  const failed = r.status === 2 || r.status === 3 || r.status === 5;
  const error = failed ? JSON.stringify({ message: r.result_message, code: r.error_code }) : 'null';
  return `{"id":${r.id},"status":${r.status},"result":${result},"error":${error}}`;
}
