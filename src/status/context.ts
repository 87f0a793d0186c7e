/**
 * What every status endpoint shares: the pool and schema, the limits, the ways to enqueue and to
 * wait. Built once by `createStatusHandler` and passed to each endpoint module, so an endpoint is
 * a plain function of (context, request, access) and the dashboard can call the same code.
 */
import type pg from 'pg';
import type { Logger } from '../kernel/logger.ts';
import { DEFAULT_SEARCH_LIMITS } from './search-criteria.ts';
import type { BulkFinishedListener } from './listener.ts';

/** One operation to enqueue again after the retry API reopened it. */
export interface ReopenedJob {
  entity: string;
  bulkUuid: string;
  key: number;
  /** The operation's new `reopened` count: part of the job id, so the new job is a new job. */
  reopened: number;
}

/** Enqueues jobs inside the caller's transaction (src/queue/enqueue.ts, wired by the app). */
export type EnqueueFn = (client: pg.PoolClient, jobs: ReopenedJob[]) => Promise<void>;

export interface StatusLimits {
  /** Largest `searchCriteria[page_size]`: Magento's `webapi/validation/maximum_page_size`, 300. */
  maxPageSize: number;
  /** Page size when none is given: Magento's `webapi/validation/default_page_size`, 20. */
  defaultPageSize: number;
  /** Largest `?waitSeconds=`; 60. */
  maxWaitSeconds: number;
  /** Body limit of the retry/cancel POSTs; 64 KiB. */
  maxBodyBytes: number;
  /** Rows per batch of results.ndjson; 1,000. */
  resultsBatchSize: number;
  /**
   * Longest a long-poll sleeps between two reads of its bulk, notice or not; 1,000 ms (see
   * long-poll.ts: the finish nobody notifies).
   */
  longPollRecheckMs: number;
}

export const DEFAULT_LIMITS: StatusLimits = {
  ...DEFAULT_SEARCH_LIMITS,
  maxWaitSeconds: 60,
  maxBodyBytes: 64 * 1024,
  resultsBatchSize: 1000,
  longPollRecheckMs: 1000,
};

export interface StatusContext {
  pool: pg.Pool;
  schema: string;
  /** pg-boss's schema (the queues endpoint reads its job table). */
  bossSchema: string;
  log: Logger;
  limits: StatusLimits;
  enqueue: EnqueueFn;
  /** The route entity (queue) of an operation, from its operationId (the route table knows). */
  entityOf(operationId: string): string;
  /** The shared LISTEN connection for bulk-finished notices, made on first use. */
  listener(): BulkFinishedListener;
  /** A place for one event stream (the server's admission control); throws 503 while none is free. */
  admitStream?(): () => void;
}
