-- Repeated updates of the same entities (issue 14): a delivery put off because an earlier
-- operation of its entity key is unfinished names its new job here, on that earlier operation, so
-- the job is made runnable as soon as the operation is final instead of when its put-off delay ends.
-- Job ids of pg-boss's job table; stale ones (already run) are harmless, the wake skips them.
ALTER TABLE {{schema}}.operation ADD COLUMN waiting_jobs uuid[];
