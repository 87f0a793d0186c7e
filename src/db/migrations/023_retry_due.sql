-- Retries (src/operations/retries.ts, issue 20).
-- When an automatic retry is due: set with `will_retry` in the statement that records the
-- retriable failure, from the backoff and the upstream's `Retry-After`, and the start of its retry
-- job. A claim takes a `will_retry` operation only once it is due, so a second delivery (a job
-- pg-boss expired and delivered again, a sweep) never runs a retry early.
ALTER TABLE {{schema}}.operation ADD COLUMN retry_at timestamptz;
-- `attempts` counts every run and the retry API keeps it; the automatic retry limit counts the runs
-- since the last reopening, from here.
ALTER TABLE {{schema}}.operation ADD COLUMN attempts_at_reopen integer NOT NULL DEFAULT 0;
