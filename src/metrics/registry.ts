/**
 * The Prometheus metrics (prom-client), one registry per process (not the library's global one, so
 * several servers in one test process do not share counters). `serve` and consumers build the same
 * set: each process counts what it does (accepts in `serve`, operations in consumers), and both
 * report the queue gauges read from the database at scrape time.
 */
import type { Registry as RegistryType } from 'prom-client';
// By file, not the package's index: see prom-client-parts.d.ts.
import Registry from 'prom-client/lib/registry.js';
import Counter from 'prom-client/lib/counter.js';
import Gauge from 'prom-client/lib/gauge.js';
import Histogram from 'prom-client/lib/histogram.js';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import type pg from 'pg';
import { selectHeartbeats, selectQueueStats, type QueueStatsRow } from '../db/sql/operators.ts';
import { waitingCount } from '../operations/requires.sql.ts';

/** A consumer counts as alive while its last heartbeat is younger than this. */
export const ALIVE_SECONDS = 30;

export interface Metrics {
  registry: RegistryType;
  /** A committed accept (serve). */
  accepted(e: { kind: string; topic: string; store: string; accepted: number; rejected: number }): void;
  /** A validate-only request answered (serve): its items' verdicts. */
  validated(e: {
    kind: string;
    topic: string;
    store: string;
    accepted: number;
    rejected: number;
    refusedByChecks: number;
  }): void;
  /** One request's time, by kind (`async`, `bulk`, `status`, `other`) and HTTP status (serve). */
  request(kind: string, status: number, seconds: number): void;
  /** One handler run (consumer). `attempt` > 1 is a retry. */
  processed(e: { topic: string; status: number; seconds: number; attempt: number }): void;
  webhook(outcome: string): void;
}

export interface MetricsOptions {
  pool: pg.Pool;
  schema: string;
  bossSchema: string;
}

const STATUS_NAMES: Record<number, string> = {
  1: 'complete',
  2: 'retriably_failed',
  3: 'not_retriably_failed',
  4: 'open',
  5: 'rejected',
};

export function createMetrics(options: MetricsOptions): Metrics {
  const { pool, schema, bossSchema } = options;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'magento_async_' });

  const operationsAccepted = new Counter({
    name: 'magento_async_accepted_operations_total',
    help: 'Operations of committed async/bulk requests, by topic, store and outcome (accepted, rejected).',
    labelNames: ['topic', 'store', 'outcome'],
    registers,
  });
  const bulksAccepted = new Counter({
    name: 'magento_async_accepted_bulks_total',
    help: 'Bulks committed by async/bulk requests, by kind (async, bulk), topic and store.',
    labelNames: ['kind', 'topic', 'store'],
    registers,
  });
  const itemsValidated = new Counter({
    name: 'magento_async_validated_items_total',
    help: 'Items of validate-only requests (?validateOnly=true, nothing stored), by topic, store and verdict (accepted; rejected by validation; refused by a plugin check).',
    labelNames: ['topic', 'store', 'verdict'],
    registers,
  });
  const validateRequests = new Counter({
    name: 'magento_async_validate_requests_total',
    help: 'Validate-only requests answered, by kind (async, bulk) and topic.',
    labelNames: ['kind', 'topic'],
    registers,
  });
  const requestSeconds = new Histogram({
    name: 'magento_async_http_request_duration_seconds',
    help: 'HTTP request time by kind (async and bulk: the accept latency; validate: validate-only requests; status; other) and status code.',
    labelNames: ['kind', 'code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const operationsProcessed = new Counter({
    name: 'magento_async_processed_operations_total',
    help: 'Handler runs of operations by topic and resulting status.',
    labelNames: ['topic', 'status'],
    registers,
  });
  const processingSeconds = new Histogram({
    name: 'magento_async_processing_duration_seconds',
    help: 'Handler time of one operation, by topic.',
    labelNames: ['topic'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
    registers,
  });
  const retries = new Counter({
    name: 'magento_async_retries_total',
    help: 'Handler runs that were retries (attempt 2 or later), by topic.',
    labelNames: ['topic'],
    registers,
  });
  const webhooks = new Counter({
    name: 'magento_async_webhook_deliveries_total',
    help: 'Completion webhook delivery attempts by outcome (delivered, retry, failed).',
    labelNames: ['outcome'],
    registers,
  });

  // Read once per scrape, shared by the gauges below (each gauge's collect runs on every scrape).
  let stats: Promise<QueueStatsRow[]> | null = null;
  const queueStats = () =>
    (stats ??= pool
      .query<QueueStatsRow>(selectQueueStats(bossSchema))
      .then((r) => r.rows)
      .finally(() => setImmediate(() => (stats = null))));

  new Gauge({
    name: 'magento_async_queue_depth',
    help: 'Jobs per queue and state (queued: waiting to run, including retries; active: running; retry: waiting for a retry).',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const r of await queueStats()) {
        this.set({ queue: r.queue, state: 'queued' }, r.queued);
        this.set({ queue: r.queue, state: 'active' }, r.active);
        this.set({ queue: r.queue, state: 'retry' }, r.retry);
      }
    },
  });
  new Gauge({
    name: 'magento_async_queue_oldest_age_seconds',
    help: 'Age of the oldest unsettled job per queue.',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const r of await queueStats()) this.set({ queue: r.queue }, r.oldest_seconds ?? 0);
    },
  });
  new Gauge({
    name: 'magento_async_operations_waiting',
    help: "Open operations waiting for an unfinished operation they require (a plugin's `requires`).",
    registers,
    async collect() {
      const { rows } = await pool.query<{ waiting: number }>(waitingCount(schema));
      this.set(rows[0]?.waiting ?? 0);
    },
  });
  new Gauge({
    name: 'magento_async_consumers_alive',
    help: `Consumer processes whose heartbeat is younger than ${ALIVE_SECONDS} s.`,
    registers,
    async collect() {
      const { rows } = await pool.query(selectHeartbeats(schema), [ALIVE_SECONDS]);
      this.set(rows.length);
    },
  });

  return {
    registry,
    accepted(e) {
      bulksAccepted.inc({ kind: e.kind, topic: e.topic, store: e.store });
      if (e.accepted) operationsAccepted.inc({ topic: e.topic, store: e.store, outcome: 'accepted' }, e.accepted);
      if (e.rejected) operationsAccepted.inc({ topic: e.topic, store: e.store, outcome: 'rejected' }, e.rejected);
    },
    validated(e) {
      validateRequests.inc({ kind: e.kind, topic: e.topic });
      const labels = { topic: e.topic, store: e.store };
      const invalid = e.rejected - e.refusedByChecks;
      if (e.accepted) itemsValidated.inc({ ...labels, verdict: 'accepted' }, e.accepted);
      if (invalid) itemsValidated.inc({ ...labels, verdict: 'rejected' }, invalid);
      if (e.refusedByChecks) itemsValidated.inc({ ...labels, verdict: 'refused_by_check' }, e.refusedByChecks);
    },
    request(kind, status, seconds) {
      requestSeconds.observe({ kind, code: String(status) }, seconds);
    },
    processed(e) {
      operationsProcessed.inc({ topic: e.topic, status: STATUS_NAMES[e.status] ?? String(e.status) });
      processingSeconds.observe({ topic: e.topic }, e.seconds);
      if (e.attempt > 1) retries.inc({ topic: e.topic });
    },
    webhook(outcome) {
      webhooks.inc({ outcome });
    },
  };
}
