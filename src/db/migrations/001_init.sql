-- magento-async schema. `{{schema}}` is replaced by the configured schema name (tests use one each).

CREATE TABLE {{schema}}.store (
  store_id    integer PRIMARY KEY,
  code        text NOT NULL UNIQUE,
  name        text NOT NULL,
  website_id  integer NOT NULL DEFAULT 1,
  is_active   boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Magento's two fixed scopes: the admin scope (`all` in URLs) and the default store view.
INSERT INTO {{schema}}.store (store_id, code, name, website_id) VALUES
  (0, 'admin', 'Admin', 0),
  (1, 'default', 'Default Store View', 1);

CREATE TABLE {{schema}}.setting (
  key    text PRIMARY KEY,
  value  text NOT NULL
);

CREATE TABLE {{schema}}.integration_token (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL,
  -- sha256 of the token: a leaked table does not leak usable tokens.
  token_hash  bytea NOT NULL UNIQUE,
  -- ACL resources granted; `{all}` grants every resource (Magento's Magento_Backend::all).
  resources   text[] NOT NULL,
  user_type   smallint NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE {{schema}}.bulk (
  id               bigserial PRIMARY KEY,
  uuid             uuid NOT NULL UNIQUE,
  user_id          integer,
  user_type        smallint,
  description      text,
  operation_count  integer NOT NULL,
  start_time       timestamp(0) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  store_id         integer NOT NULL,
  -- Store code as the URL gave it, NULL when it named none: the fallback rules tell them apart.
  store_code       text,
  request_id       text
);
CREATE INDEX bulk_start_time_idx ON {{schema}}.bulk (start_time);
CREATE INDEX bulk_user_idx ON {{schema}}.bulk (user_type, user_id);

CREATE TABLE {{schema}}.operation (
  bulk_uuid               uuid NOT NULL REFERENCES {{schema}}.bulk (uuid) ON DELETE CASCADE,
  operation_key           integer NOT NULL,
  topic_name              text NOT NULL,
  -- The route's operationId: what the consumer dispatches on (topics can be shared, ids cannot).
  operation_id            text NOT NULL,
  serialized_data         text,
  result_serialized_data  text,
  status                  smallint NOT NULL DEFAULT 4 CHECK (status BETWEEN 1 AND 5),
  error_code              integer,
  result_message          text,
  started_at              timestamp(0),
  finished_at             timestamp(0),
  attempts                integer NOT NULL DEFAULT 0,
  -- True while a status-2 operation still has an automatic retry coming: the bulk is not finished.
  will_retry              boolean NOT NULL DEFAULT false,
  -- How often the retry API reopened it; part of the job id so a reopened operation gets a new job.
  reopened                integer NOT NULL DEFAULT 0,
  -- Set by the cancel API. A worker already running the operation still records its outcome over
  -- the cancellation ("running ones finish"); a worker fetching it later skips it.
  canceled                boolean NOT NULL DEFAULT false,
  PRIMARY KEY (bulk_uuid, operation_key)
) WITH (fillfactor = 70);
-- No index on status on purpose: per-status counts come from bulk_counter, and with no indexed
-- column changing, a worker's status update is a HOT update in the page's free space (fillfactor).

-- Per-bulk counters by status, kept by statement-level triggers so a status read is O(1) in the
-- size of the bulk. Sharded by backend pid: concurrent workers finishing operations of the same
-- bulk update different rows instead of queueing on one row lock. A read sums at most 8 rows.
CREATE TABLE {{schema}}.bulk_counter (
  bulk_uuid  uuid NOT NULL REFERENCES {{schema}}.bulk (uuid) ON DELETE CASCADE,
  shard      smallint NOT NULL,
  complete   integer NOT NULL DEFAULT 0,
  retriable  integer NOT NULL DEFAULT 0,
  failed     integer NOT NULL DEFAULT 0,
  open       integer NOT NULL DEFAULT 0,
  rejected   integer NOT NULL DEFAULT 0,
  -- status-2 operations with an automatic retry still to come (will_retry)
  retrying   integer NOT NULL DEFAULT 0,
  PRIMARY KEY (bulk_uuid, shard)
);

-- Deletes need no trigger: counters go with their bulk by cascade, and operations are never
-- deleted on their own.
CREATE FUNCTION {{schema}}.count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {{schema}}.bulk_counter AS c (bulk_uuid, shard, complete, retriable, failed, open, rejected, retrying)
  SELECT bulk_uuid, pg_backend_pid() % 8,
         count(*) FILTER (WHERE status = 1), count(*) FILTER (WHERE status = 2),
         count(*) FILTER (WHERE status = 3), count(*) FILTER (WHERE status = 4),
         count(*) FILTER (WHERE status = 5), count(*) FILTER (WHERE status = 2 AND will_retry)
  FROM new_rows GROUP BY bulk_uuid
  ON CONFLICT (bulk_uuid, shard) DO UPDATE SET
    complete = c.complete + excluded.complete, retriable = c.retriable + excluded.retriable,
    failed = c.failed + excluded.failed, open = c.open + excluded.open,
    rejected = c.rejected + excluded.rejected, retrying = c.retrying + excluded.retrying;
  RETURN NULL;
END $$;

CREATE FUNCTION {{schema}}.count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
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
  GROUP BY bulk_uuid
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

-- Bulks someone is long-polling right now (one row per waiting request). Unlogged: after a crash
-- nobody is waiting anyway; rows a crashed server left behind only cost a check until cleaned.
CREATE UNLOGGED TABLE {{schema}}.bulk_waiter (
  id         bigserial PRIMARY KEY,
  bulk_uuid  uuid NOT NULL,
  since      timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER operation_count_insert AFTER INSERT ON {{schema}}.operation
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.count_inserted();
CREATE TRIGGER operation_count_update AFTER UPDATE ON {{schema}}.operation
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.count_updated();

CREATE TABLE {{schema}}.idempotency_key (
  user_type      smallint NOT NULL,
  user_id        integer NOT NULL,
  key            text NOT NULL,
  request_hash   bytea NOT NULL,
  response_status integer NOT NULL,
  response_body  text NOT NULL,
  -- Deferred: keys are claimed before the bulk row of the same transaction is written.
  bulk_uuid      uuid REFERENCES {{schema}}.bulk (uuid) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_type, user_id, key)
);
CREATE INDEX idempotency_key_created_idx ON {{schema}}.idempotency_key (created_at);
