-- Lock order (issue 20): the counter triggers upsert a statement's bulk counter rows in bulk order,
-- so two transactions writing outcomes of the same bulks (on backends sharing a counter shard)
-- never lock those rows crosswise. Operation rows are never shared between two batches' writes
-- (each writes the rows it claimed), so counters are the rows they can meet on. Migration 024 did
-- the same once and was dropped: fired by the claim on a fetch connection, whose planner may not
-- sort or hash, the trigger took 0.8-1.9 s; these functions plan with the default settings.
CREATE OR REPLACE FUNCTION {{schema}}.count_inserted() RETURNS trigger LANGUAGE plpgsql
  -- Planned as usual even when fired by a fetch connection's statement, whose planner settings
  -- (src/queue/fetch-plan.ts) make a sort or a hash join cost seconds here.
  SET enable_sort = on SET enable_hashjoin = on SET enable_mergejoin = on
  SET enable_seqscan = on SET enable_bitmapscan = on
  AS $$
BEGIN
  INSERT INTO {{schema}}.bulk_counter AS c (bulk_uuid, shard, complete, retriable, failed, open, rejected, retrying)
  SELECT bulk_uuid, pg_backend_pid() % 8,
         count(*) FILTER (WHERE status = 1), count(*) FILTER (WHERE status = 2),
         count(*) FILTER (WHERE status = 3), count(*) FILTER (WHERE status = 4),
         count(*) FILTER (WHERE status = 5), count(*) FILTER (WHERE status = 2 AND will_retry)
  FROM new_rows GROUP BY bulk_uuid ORDER BY bulk_uuid
  ON CONFLICT (bulk_uuid, shard) DO UPDATE SET
    complete = c.complete + excluded.complete, retriable = c.retriable + excluded.retriable,
    failed = c.failed + excluded.failed, open = c.open + excluded.open,
    rejected = c.rejected + excluded.rejected, retrying = c.retrying + excluded.retrying;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.count_updated() RETURNS trigger LANGUAGE plpgsql
  -- Planned as usual even when fired by a fetch connection's statement, whose planner settings
  -- (src/queue/fetch-plan.ts) make a sort or a hash join cost seconds here.
  SET enable_sort = on SET enable_hashjoin = on SET enable_mergejoin = on
  SET enable_seqscan = on SET enable_bitmapscan = on
  AS $$
DECLARE
  finished uuid;
BEGIN
  INSERT INTO {{schema}}.bulk_counter AS c (bulk_uuid, shard, complete, retriable, failed, open, rejected, retrying)
  SELECT bulk_uuid, pg_backend_pid() % 8,
         sum(d1), sum(d2), sum(d3), sum(d4), sum(d5), sum(d6)
  FROM (
    SELECT n.bulk_uuid,
           (n.status = 1)::int - (o.status = 1)::int AS d1,
           (n.status = 2)::int - (o.status = 2)::int AS d2,
           (n.status = 3)::int - (o.status = 3)::int AS d3,
           (n.status = 4)::int - (o.status = 4)::int AS d4,
           (n.status = 5)::int - (o.status = 5)::int AS d5,
           (n.status = 2 AND n.will_retry)::int - (o.status = 2 AND o.will_retry)::int AS d6
    FROM new_rows n JOIN old_rows o USING (bulk_uuid, operation_key)
    WHERE n.status IS DISTINCT FROM o.status OR n.will_retry IS DISTINCT FROM o.will_retry
  ) d
  GROUP BY bulk_uuid ORDER BY bulk_uuid
  ON CONFLICT (bulk_uuid, shard) DO UPDATE SET
    complete = c.complete + excluded.complete, retriable = c.retriable + excluded.retriable,
    failed = c.failed + excluded.failed, open = c.open + excluded.open,
    rejected = c.rejected + excluded.rejected, retrying = c.retrying + excluded.retrying;
  -- Wake long-polling status readers (GET .../status?waitSeconds=N) when a bulk they wait for has
  -- nothing left to run; delivered at commit, so a reader never sees the notice before the
  -- statuses. Only bulks with a registered waiter are checked: with nobody waiting (the common
  -- case, and every worker batch) this costs one look at an empty table.
  IF EXISTS (SELECT 1 FROM {{schema}}.bulk_waiter) THEN
    FOR finished IN
      SELECT c.bulk_uuid FROM {{schema}}.bulk_counter c
      WHERE c.bulk_uuid IN (SELECT w.bulk_uuid FROM {{schema}}.bulk_waiter w
                            WHERE w.bulk_uuid IN (SELECT bulk_uuid FROM new_rows))
      GROUP BY c.bulk_uuid HAVING sum(c.open) = 0 AND sum(c.retrying) = 0
    LOOP
      PERFORM pg_notify('{{schema_name}}_bulk_finished', finished::text);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
