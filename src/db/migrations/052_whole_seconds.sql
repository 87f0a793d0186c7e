-- The whole-second times (start_time, started_at, finished_at) are truncated to their second, as
-- MySQL's CURRENT_TIMESTAMP and PHP's date() give it, where PostgreSQL's timestamp(0) would round a
-- fraction up into the next second: after the database's now(), and after a bulk accepted later in
-- that second (src/db/sql/seconds.ts holds the rule for the application's SQL). 051's trigger, which
-- fails the waiters of a provider that ended final, stamps their finished_at the same way; the rest
-- of it is unchanged.
CREATE OR REPLACE FUNCTION {{schema}}.wait_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  boss text;
  w_bulks uuid[];
  w_keys integer[];
  w_messages text[];
  free_bulks uuid[];
  free_keys integer[];
BEGIN
  -- A statement trigger fires for every UPDATE, its own of no row too: look at new_rows first.
  IF EXISTS (SELECT 1 FROM new_rows n WHERE n.status <> 4 AND NOT n.will_retry)
    AND EXISTS (SELECT 1 FROM {{schema}}.operation_wait) THEN
    SELECT array_agg(f.w_bulk ORDER BY f.w_bulk, f.w_key), array_agg(f.w_key ORDER BY f.w_bulk, f.w_key),
      array_agg(f.message ORDER BY f.w_bulk, f.w_key)
    INTO w_bulks, w_keys, w_messages
    FROM (
      SELECT DISTINCT ON (e.bulk_uuid, e.operation_key) e.bulk_uuid AS w_bulk, e.operation_key AS w_key,
        'Required operation ' || n.operation_key || ' of bulk ' || n.bulk_uuid
          || ' (' || n.topic_name || '), providing ' || e.need || ', failed: '
          || coalesce(n.result_message, 'no message') AS message
      FROM new_rows n JOIN {{schema}}.operation_wait e ON e.on_bulk = n.bulk_uuid AND e.on_key = n.operation_key
      WHERE n.status <> 1 AND n.status <> 4 AND NOT n.will_retry
      ORDER BY e.bulk_uuid, e.operation_key, n.operation_key
    ) f;
    IF w_bulks IS NOT NULL THEN
      -- The waiters' rows first, in key order (every writer's order), then their jobs: the order the
      -- cancel API locks in too.
      PERFORM 1 FROM {{schema}}.operation o
        JOIN unnest(w_bulks, w_keys) AS w(bulk_uuid, operation_key)
          ON o.bulk_uuid = w.bulk_uuid AND o.operation_key = w.operation_key
        ORDER BY o.bulk_uuid, o.operation_key FOR NO KEY UPDATE OF o;
      SELECT q.boss_schema INTO boss FROM {{schema}}.queue_schema q;
      IF boss IS NULL OR to_regclass(format('%I.job', boss)) IS NULL THEN
        free_bulks := w_bulks;
        free_keys := w_keys;
      ELSE
        -- Held: a live job of it (the dead-letter queue's aside, src/operations/claims.sql.ts
        -- `jobsOf`) is active, or locked right now (a fetch making it active, its put-off or
        -- completion under way), which is never waited for: such a waiter is left to its look. The
        -- free ones' jobs stay locked to the end of this transaction, so no fetch delivers them
        -- meanwhile (pg-boss fetches SKIP LOCKED); delivered afterwards, they find the waiter final.
        EXECUTE format($q$
          WITH w AS (SELECT * FROM unnest($1::uuid[], $2::integer[]) AS w(bulk_uuid, operation_key)),
            live AS (
              SELECT j.name, j.id, j.state, w.bulk_uuid, w.operation_key FROM w JOIN %1$I.job j
                ON j.data->>'bulk' = w.bulk_uuid::text AND j.data->>'key' = w.operation_key::text
              WHERE j.state < 'completed' AND j.name <> %2$L),
            lockable AS (
              SELECT j.id FROM %1$I.job j
              WHERE (j.name, j.id) IN (SELECT name, id FROM live WHERE state <> 'active')
                AND j.state < 'completed' AND j.state <> 'active'
              FOR NO KEY UPDATE SKIP LOCKED)
          SELECT array_agg(w.bulk_uuid), array_agg(w.operation_key) FROM w
          WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.bulk_uuid = w.bulk_uuid AND l.operation_key = w.operation_key
            AND l.id NOT IN (SELECT id FROM lockable))$q$, boss, 'async.__dead_letter')
        INTO free_bulks, free_keys USING w_bulks, w_keys;
      END IF;
      UPDATE {{schema}}.operation o
      SET status = 3, will_retry = false, finished_at = date_trunc('second', now() AT TIME ZONE 'UTC'), result_message = w.message
      FROM unnest(w_bulks, w_keys, w_messages) AS w(bulk_uuid, operation_key, message)
      WHERE o.bulk_uuid = w.bulk_uuid AND o.operation_key = w.operation_key
        AND (w.bulk_uuid, w.operation_key) IN (SELECT * FROM unnest(free_bulks, free_keys))
        AND (o.status = 4 OR o.will_retry);
    END IF;
    DELETE FROM {{schema}}.operation_wait e USING new_rows n
    WHERE e.bulk_uuid = n.bulk_uuid AND e.operation_key = n.operation_key
      AND n.status <> 4 AND NOT n.will_retry;
  END IF;
  RETURN NULL;
END $$;
