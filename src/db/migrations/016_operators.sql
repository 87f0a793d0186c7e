-- Completion webhooks and consumer heartbeats (issue 16).

-- One completion webhook per bulk, registered in the bulk's accept (X-Callback-Url or the
-- integration's configured URL). `state`: pending (waiting for the bulk to finish, or for its next
-- attempt), delivered, failed (attempts exhausted or destination refused).
CREATE TABLE {{schema}}.bulk_webhook (
  bulk_uuid        uuid PRIMARY KEY REFERENCES {{schema}}.bulk (uuid) ON DELETE CASCADE,
  url              text NOT NULL,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  -- Not before this time: the backoff of the next retry, or the lease of the sender holding it.
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  done_at          timestamptz
);
-- The sender's sweep reads only pending rows; delivered ones stay for the bulk's page.
CREATE INDEX bulk_webhook_pending_idx ON {{schema}}.bulk_webhook (next_attempt_at) WHERE state = 'pending';

-- Every delivery attempt, shown on the bulk's page.
CREATE TABLE {{schema}}.webhook_delivery (
  id            bigserial PRIMARY KEY,
  bulk_uuid     uuid NOT NULL REFERENCES {{schema}}.bulk_webhook (bulk_uuid) ON DELETE CASCADE,
  attempt       integer NOT NULL,
  sent_at       timestamptz NOT NULL DEFAULT now(),
  duration_ms   integer NOT NULL,
  -- The receiver's HTTP status; NULL when there was no answer (refused, timeout, network error).
  http_status   integer,
  error         text
);
CREATE INDEX webhook_delivery_bulk_idx ON {{schema}}.webhook_delivery (bulk_uuid, id);

-- Consumer processes seen recently: each writes its row every few seconds (the queues page).
CREATE UNLOGGED TABLE {{schema}}.consumer_heartbeat (
  id          text PRIMARY KEY,
  host        text NOT NULL,
  pid         integer NOT NULL,
  queues      text[] NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  seen_at     timestamptz NOT NULL DEFAULT now(),
  handled     bigint NOT NULL DEFAULT 0,
  -- Operations handled per second over the last heartbeat interval.
  rate        double precision NOT NULL DEFAULT 0
);
