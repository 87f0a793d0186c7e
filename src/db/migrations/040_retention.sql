-- Retention (src/retention/bulks.ts) deletes old bulks; their idempotency keys go by cascade, and
-- without an index the cascade reads the whole key table once per deleted bulk.
CREATE INDEX idempotency_key_bulk_idx ON {{schema}}.idempotency_key (bulk_uuid);
