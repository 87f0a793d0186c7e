-- Operations that wait for what they reference (docs/dependencies.md, src/operations/requires.ts).
-- One row per operation that waits and each unfinished operation it waits for: the provider of an
-- entity key it requires (`need`, the provider's entry in operation_order). Written by a consumer
-- when it finds the wait (its "gate"), rewritten at each look, gone when the waiter is final.
CREATE TABLE {{schema}}.operation_wait (
  bulk_uuid      uuid NOT NULL,
  operation_key  integer NOT NULL,
  need           text NOT NULL,
  on_bulk        uuid NOT NULL,
  on_key         integer NOT NULL,
  -- When the waiter first waited (kept across its looks): the wait limit counts from it.
  since          timestamptz NOT NULL DEFAULT now(),
  -- The waiter's put-off job and its queue, made runnable when the provider is final.
  job            uuid,
  queue          text,
  PRIMARY KEY (bulk_uuid, operation_key, on_bulk, on_key),
  FOREIGN KEY (bulk_uuid, operation_key) REFERENCES {{schema}}.operation ON DELETE CASCADE,
  FOREIGN KEY (on_bulk, on_key) REFERENCES {{schema}}.operation ON DELETE CASCADE
);
CREATE INDEX operation_wait_on ON {{schema}}.operation_wait (on_bulk, on_key);

-- A provider that ends final without completing (failed, canceled, closed as abandoned) fails its
-- waiters that no worker holds, naming it; their own waiters follow by the same trigger. A held
-- waiter (between its look and its put-off) finds the failure at its next look. A waiter that is
-- final leaves the table. With nothing waiting, this costs one look at an empty table.
CREATE FUNCTION {{schema}}.wait_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A statement trigger fires for every UPDATE, its own of no row too: look at new_rows first.
  IF EXISTS (SELECT 1 FROM new_rows n WHERE n.status <> 4 AND NOT n.will_retry)
    AND EXISTS (SELECT 1 FROM {{schema}}.operation_wait) THEN
    UPDATE {{schema}}.operation o
    SET status = 3, will_retry = false, finished_at = (now() AT TIME ZONE 'UTC'),
      result_message = 'Required operation ' || f.operation_key || ' of bulk ' || f.bulk_uuid
        || ' (' || f.topic_name || '), providing ' || f.need || ', failed: '
        || coalesce(f.result_message, 'no message')
    FROM (
      SELECT DISTINCT ON (e.bulk_uuid, e.operation_key) e.bulk_uuid AS w_bulk, e.operation_key AS w_key,
        e.need, n.bulk_uuid, n.operation_key, n.topic_name, n.result_message
      FROM new_rows n JOIN {{schema}}.operation_wait e ON e.on_bulk = n.bulk_uuid AND e.on_key = n.operation_key
      WHERE n.status <> 1 AND n.status <> 4 AND NOT n.will_retry
      ORDER BY e.bulk_uuid, e.operation_key, n.operation_key
    ) f
    WHERE o.bulk_uuid = f.w_bulk AND o.operation_key = f.w_key
      AND (o.status = 4 OR o.will_retry) AND (o.lease_until IS NULL OR o.lease_until < now());
    DELETE FROM {{schema}}.operation_wait e USING new_rows n
    WHERE e.bulk_uuid = n.bulk_uuid AND e.operation_key = n.operation_key
      AND n.status <> 4 AND NOT n.will_retry;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER operation_wait_update AFTER UPDATE ON {{schema}}.operation
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.wait_updated();
