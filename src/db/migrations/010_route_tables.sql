-- The route tables servers mount, so consumers on any machine run what the servers accept (issue 10).
-- One row per distinct table (digest of its routes); a server re-registers its table at every start.
CREATE TABLE {{schema}}.route_table (
  digest          text PRIMARY KEY,
  source          text NOT NULL,
  routes          jsonb NOT NULL,
  first_served_at timestamptz NOT NULL DEFAULT now(),
  last_served_at  timestamptz NOT NULL DEFAULT now()
);
