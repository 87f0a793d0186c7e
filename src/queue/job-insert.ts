/**
 * pg-boss's own job insert as a fragment the accept statement embeds (src/db/sql/accept.ts), so a
 * bulk, its operations and their jobs go to the database as ONE statement: one round trip, one
 * parse (it is prepared), and an implicit transaction that commits before the answer, where
 * `boss.insert` costs a statement of its own inside an explicit BEGIN … COMMIT.
 *
 * The fragment is pg-boss's `plans.insertJobs` text for the queue, unchanged but for two things:
 * its one parameter (`$1`, the jobs as JSON) is renumbered by the caller, and it returns each job's
 * `start_after` so the statement can send pg-boss's NOTIFY only when a job is runnable now (what
 * pg-boss's notify form does in a CTE of its own, which a CTE cannot nest). It depends on the shape
 * of pg-boss's SQL: {@link jobInsertFragment} checks that shape and returns null when it differs,
 * and the committer then falls back to `boss.insert` (test/queue/job-insert.test.ts fails first).
 */
import type { PgBoss } from 'pg-boss';
import { insertJobs, notifyQueue } from 'pg-boss/dist/plans.js';
import type { JobStatements } from '../accept/committer.ts';
import { jobIdFor, queueForEntity } from './names.ts';
import { PGBOSS_VERSION } from './pgboss-sql.ts';

/** The version whose insert text was read when this was written: the one pg-boss pin (pgboss-sql.ts). */
export const JOB_INSERT_PGBOSS_VERSION = PGBOSS_VERSION;

export interface JobInsertFragment {
  queue: string;
  /** `INSERT … ON CONFLICT DO NOTHING RETURNING start_after`, its payload written `$1`. */
  insert: string;
  /** `SELECT pg_notify(…)` for the queue, or null when the queue does not notify. */
  notify: string | null;
  /** `<bossSchema>.job_now()`, pg-boss's clock (what its notify gate compares `start_after` with). */
  now: string;
}

const PAYLOAD = '$1::text::json';

/**
 * The fragment for one queue's jobs, or null when pg-boss's insert no longer has the shape this
 * relies on: exactly one parameter, `$1::text::json`, and a plain `INSERT … ON CONFLICT DO NOTHING`
 * with no RETURNING of its own.
 */
export function jobInsertFragment(
  bossSchema: string,
  queue: { name: string; table: string; notify: boolean },
): JobInsertFragment | null {
  const text = insertJobs(bossSchema, { table: queue.table, name: queue.name, returnId: false, notify: false }).trim();
  if (!/^INSERT INTO\s/i.test(text) || !/ON CONFLICT DO NOTHING$/i.test(text) || /\bRETURNING\b/i.test(text)) {
    return null;
  }
  const placeholders = text.match(/\$\d+/g) ?? [];
  if (placeholders.length !== 1 || !text.includes(PAYLOAD)) return null;
  return {
    queue: queue.name,
    insert: `${text}\n    RETURNING start_after`,
    notify: queue.notify ? notifyQueue(bossSchema, queue.name) : null,
    now: `${bossSchema}.job_now()`,
  };
}

/** The JSON pg-boss's insert reads: one `{id, data}` per operation, ids derived from (bulk, key). */
export function jobsPayload(jobs: readonly { bulkUuid: string; key: number }[]): string {
  // Ids are unique by construction (one job per bulk and key), so no dedup pass is needed; uuids
  // and integers need no escaping, so the text is built directly (JSON.stringify of 100 objects
  // costs more than the statement's own JSON parse).
  let out = '[';
  for (let i = 0; i < jobs.length; i++) {
    const { bulkUuid, key } = jobs[i]!;
    if (i > 0) out += ',';
    out += `{"id":"${jobIdFor(bulkUuid, key)}","data":{"bulk":"${bulkUuid}","key":${key}}}`;
  }
  return out + ']';
}

/**
 * Fragments per queue, read once from pg-boss's queue table (its table and notify setting) and
 * cached; `forget` drops one after a failed insert (a queue deleted or moved to another table).
 */
export class JobInserts {
  readonly #boss: PgBoss;
  readonly #bossSchema: string;
  readonly #listenNotify: boolean;
  readonly #cache = new Map<string, Promise<JobInsertFragment | null>>();

  constructor(boss: PgBoss, bossSchema: string, options: { listenNotify?: boolean } = {}) {
    this.#boss = boss;
    this.#bossSchema = bossSchema;
    this.#listenNotify = options.listenNotify ?? true;
  }

  fragment(queue: string): Promise<JobInsertFragment | null> {
    let cached = this.#cache.get(queue);
    if (!cached) {
      cached = this.#read(queue);
      this.#cache.set(queue, cached);
      cached.catch(() => this.#cache.delete(queue));
    }
    return cached;
  }

  forget(queue: string): void {
    this.#cache.delete(queue);
  }

  async #read(name: string): Promise<JobInsertFragment | null> {
    const queue = (await this.#boss.getQueue(name)) as
      (Awaited<ReturnType<PgBoss['getQueue']>> & { table?: unknown }) | null;
    // A missing queue, or one whose jobs need what only pg-boss's insert checks (a key-ordered
    // policy wants singleton keys): boss.insert reports it in its own words.
    if (!queue || typeof queue.table !== 'string' || queue.policy === 'key_strict_fifo') return null;
    return jobInsertFragment(this.#bossSchema, {
      name,
      table: queue.table,
      notify: Boolean(queue.notify) && this.#listenNotify,
    });
  }
}

/** The accept committer's view of {@link JobInserts}: parts per entity, payloads, invalidation. */
export function acceptJobStatements(inserts: JobInserts): JobStatements {
  return {
    part: (entity) => inserts.fragment(queueForEntity(entity)),
    payload: jobsPayload,
    forget: (entity) => inserts.forget(queueForEntity(entity)),
  };
}
